import Foundation

/// The standard normal truncated to [a, b], computed in log space as Optuna's `_truncnorm` does (left tail
/// only, asymptotic series far out), so the Parzen estimator's densities match Optuna's to rounding.
enum TruncatedNormal {
    static let logSqrtTwoPi = 0.5 * log(2 * Double.pi)

    /// Φ(a), the standard normal CDF.
    static func ndtr(_ a: Double) -> Double {
        let x = a / 2.0.squareRoot()
        if x < -1 / 2.0.squareRoot() { return 0.5 * erfc(-x) }
        if x < 1 / 2.0.squareRoot() { return 0.5 + 0.5 * erf(x) }
        return 1.0 - 0.5 * erfc(x)
    }

    /// log Φ(a), accurate in the far left tail (asymptotic series below −20).
    static func logNdtr(_ a: Double) -> Double {
        if a > 6 { return -ndtr(-a) }
        if a > -20 { return log(ndtr(a)) }
        let logLeft = -0.5 * a * a - log(-a) - logSqrtTwoPi
        var lastTotal = 0.0, rightHandSide = 1.0, numerator = 1.0, denominatorFactor = 1.0
        let denominatorStep = 1 / (a * a)
        var sign = 1.0, i = 0.0
        while abs(lastTotal - rightHandSide) > Double.ulpOfOne {
            i += 1
            lastTotal = rightHandSide
            sign = -sign
            denominatorFactor *= denominatorStep
            numerator *= 2 * i - 1
            rightHandSide += sign * numerator * denominatorFactor
        }
        return logLeft + log(rightHandSide)
    }

    /// log(exp(p) − exp(q)) for q ≤ p.
    static func logDifference(_ p: Double, _ q: Double) -> Double { p + log1p(-exp(q - p)) }

    /// log(exp(p) + exp(q)).
    static func logSum(_ p: Double, _ q: Double) -> Double {
        let high = max(p, q)
        if high == -.infinity { return -.infinity }
        return high + log1p(exp(-abs(p - q)))
    }

    /// log of the standard normal mass on [a, b]; the right tail is mirrored to the left for accuracy.
    static func logMass(_ a: Double, _ b: Double) -> Double {
        if b <= 0 { return logDifference(logNdtr(b), logNdtr(a)) }
        if a > 0 { return logDifference(logNdtr(-a), logNdtr(-b)) }
        return log1p(-ndtr(a) - ndtr(-b))
    }

    /// log density at x of N(loc, scale²) truncated to [loc + a·scale, loc + b·scale]; −∞ outside.
    static func logPDF(_ x: Double, a: Double, b: Double, loc: Double, scale: Double) -> Double {
        let z = (x - loc) / scale
        if z < a || z > b { return -.infinity }
        return -z * z / 2 - logSqrtTwoPi - logMass(a, b) - log(scale)
    }

    /// x with log Φ(x) = y, by Newton's method from Optuna's starting guesses.
    static func ndtriExp(_ y: Double) -> Double {
        let flipped = y > -1e-2
        let z = flipped ? log(-expm1(y)) : y
        var x = z < -5 ? -(-2.0 * (z + logSqrtTwoPi)).squareRoot() : -(3.0.squareRoot() / Double.pi) * log(expm1(-z))
        for _ in 0..<100 {
            let logNdtrX = logNdtr(x)
            let logPDFX = -0.5 * x * x - logSqrtTwoPi
            let dx = (logNdtrX - z) * exp(logNdtrX - logPDFX)
            x -= dx
            if abs(dx) < 1e-8 * abs(x) { break }
        }
        return flipped ? -x : x
    }

    /// The quantile q ∈ [0, 1) of the standard normal truncated to [a, b] (a < b).
    static func quantile(_ q: Double, a: Double, b: Double) -> Double {
        if q == 0 { return a }
        let mass = logMass(a, b)
        if a < 0 { return ndtriExp(logSum(logNdtr(a), log(q) + mass)) }
        return -ndtriExp(logSum(logNdtr(-b), log1p(-q) + mass))
    }
}
