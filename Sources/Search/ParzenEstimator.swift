import Foundation
import Randomness

/// The kernels of one parameter in a Parzen estimator: one per observation, then the prior's.
public enum ParzenKernels: Sendable {
    /// Normal kernels truncated to [low, high] (internal space: logged for log params, widened by half a
    /// step for stepped ones). `step` is 0 for continuous params; `gridLow`/`gridHigh` are the
    /// distribution's own bounds (external units) that samples are rounded and clipped to.
    case numeric(NumericKernels)
    /// Row i: the probability of each choice under kernel i.
    case categorical(weights: [[Double]])
}

/// Truncated normal kernels of one numeric parameter (Optuna's `_BatchedTruncNormDistributions` and kin).
public struct NumericKernels: Sendable {
    public var mus: [Double]
    public var sigmas: [Double]
    /// The kernels' support in internal space.
    public var low: Double
    public var high: Double
    /// 0 for a continuous parameter.
    public var step: Double
    public var log: Bool
    public var gridLow: Double
    public var gridHigh: Double
    /// log of each kernel's mass on [low, high] (the truncation's normaliser).
    var logTotalMass: [Double]
    /// For a stepped parameter with a small grid (a mask bit): each kernel's log probability of each grid
    /// point, kernel-major, so scoring candidates is a lookup.
    var gridLogProbabilities: [Double] = []
    var gridCount = 0

    /// log density (continuous) or log probability (stepped: the kernel's mass on the grid point's cell over
    /// its mass on the whole range) of internal value `x` under kernel `kernel`.
    func logDensity(_ x: Double, kernel: Int) -> Double {
        let mu = mus[kernel], sigma = sigmas[kernel]
        if step == 0 {
            let z = ((log ? Foundation.log(x) : x) - mu) / sigma
            if z < (low - mu) / sigma || z > (high - mu) / sigma { return -.infinity }
            return -z * z / 2 - TruncatedNormal.logSqrtTwoPi - logTotalMass[kernel] - Foundation.log(sigma)
        }
        if gridCount > 0 {
            let index = Int(((x - gridLow) / step).rounded())
            if index >= 0 && index < gridCount { return gridLogProbabilities[kernel * gridCount + index] }
        }
        var left = x - step / 2, right = x + step / 2
        if log { (left, right) = (Foundation.log(left), Foundation.log(right)) }
        return TruncatedNormal.logMass((left - mu) / sigma, (right - mu) / sigma) - logTotalMass[kernel]
    }

    /// A draw from kernel `kernel` in external units (rounded to the grid for stepped params).
    func sample(kernel: Int, uniform: Double) -> Double {
        let mu = mus[kernel], sigma = sigmas[kernel]
        let z = TruncatedNormal.quantile(uniform, a: (low - mu) / sigma, b: (high - mu) / sigma)
        var value = min(max(z * sigma + mu, low), high)
        if log { value = exp(value) }
        if step == 0 { return min(max(value, gridLow), gridHigh) }
        let index = ((value - gridLow) / step).rounded(.toNearestOrEven)
        return min(max(gridLow + index * step, gridLow), gridHigh)
    }
}

/// Optuna 5's `_ParzenEstimator`: a mixture of product kernels, one per observation plus the prior, with
/// Optuna's bandwidths (neighbour gaps without endpoints, the magic clip) and weights.
public struct ParzenEstimator: Sendable {
    /// Normalised mixture weights: observations in the order given, then the prior (alone when there is none).
    public let weights: [Double]
    /// One entry per parameter, in the order of the distributions.
    public let kernels: [ParzenKernels]

    /// - Parameters:
    ///   - observations: one row per observation, one internal value per parameter (in `distributions`' order).
    ///   - predeterminedWeights: the observations' weights (before the prior is appended); nil: `defaultWeights`.
    public init(observations: [[Double]], distributions: [Distribution], predeterminedWeights: [Double]? = nil) {
        var raw = observations.isEmpty ? [1.0] : (predeterminedWeights ?? ParzenEstimator.defaultWeights(observations.count)) + [1.0]
        let total = raw.reduce(0, +)
        for i in raw.indices { raw[i] /= total }
        weights = raw
        kernels = distributions.indices.map { column in
            let values = observations.map { $0[column] }
            switch distributions[column] {
            case let .categorical(choices): return ParzenEstimator.categoricalKernels(values, choiceCount: choices.count)
            default: return .numeric(ParzenEstimator.numericKernels(values, distributions[column]))
            }
        }
    }

    /// Optuna's `default_weights`: equal weights below 25 observations; beyond, the oldest k − 25 ramp up
    /// linearly from 1/k (numpy's `linspace`) and the newest 25 weigh 1.
    public static func defaultWeights(_ count: Int) -> [Double] {
        if count < 25 { return [Double](repeating: 1, count: count) }
        let rampCount = count - 25
        let start = 1.0 / Double(count)
        let delta = (1.0 - start) / Double(max(rampCount - 1, 1))
        var ramp = (0..<rampCount).map { start + Double($0) * delta }
        if rampCount > 1 { ramp[rampCount - 1] = 1.0 }
        return ramp + [Double](repeating: 1, count: 25)
    }

    static func categoricalKernels(_ values: [Double], choiceCount: Int) -> ParzenKernels {
        if values.isEmpty { return .categorical(weights: [[Double](repeating: 1.0 / Double(choiceCount), count: choiceCount)]) }
        let kernelCount = values.count + 1
        var rows = [[Double]](repeating: [Double](repeating: 1.0 / Double(kernelCount), count: choiceCount), count: kernelCount)
        for (row, value) in values.enumerated() { rows[row][Int(value)] += 1 }
        for row in rows.indices {
            let sum = rows[row].reduce(0, +)
            rows[row] = rows[row].map { $0 / sum }
        }
        return .categorical(weights: rows)
    }

    static func numericKernels(_ values: [Double], _ distribution: Distribution) -> NumericKernels {
        var low = 0.0, high = 0.0, step = 0.0, isLog = false
        switch distribution {
        case let .int(l, h, s, lg): (low, high, step, isLog) = (Double(l), Double(h), Double(s), lg)
        case let .float(l, h, s, lg): (low, high, step, isLog) = (l, h, s ?? 0, lg)
        case .categorical: break
        }
        let gridLow = low, gridHigh = high
        if step != 0 { low -= step / 2; high += step / 2 }
        var mus = values
        if isLog { (low, high, mus) = (Foundation.log(low), Foundation.log(high), mus.map { Foundation.log($0) }) }
        var sigmas = bandwidths(mus, low: low, high: high)
        mus.append(0.5 * (low + high))
        sigmas.append(high - low)
        let totals = zip(mus, sigmas).map { TruncatedNormal.logMass((low - $0) / $1, (high - $0) / $1) }
        var kernels = NumericKernels(mus: mus, sigmas: sigmas, low: low, high: high, step: step, log: isLog,
                                     gridLow: gridLow, gridHigh: gridHigh, logTotalMass: totals)
        let points = step == 0 ? 0 : Int(((gridHigh - gridLow) / step).rounded()) + 1
        if points > 0 && points <= 64 {
            kernels.gridLogProbabilities = mus.indices.flatMap { kernel in
                (0..<points).map { kernels.logDensity(gridLow + Double($0) * step, kernel: kernel) }
            }
            kernels.gridCount = points
        }
        return kernels
    }

    /// Each kernel's σ: the larger gap to its sorted neighbours (the range's ends pad the list; the
    /// smallest and largest use their inner gap only), clipped to [(high − low) / min(100, k + 2), high − low].
    /// Equal observations (every mask bit) are sorted in numpy's order, as Optuna's `np.argsort` leaves them
    /// (`NumpyArgsort`): that order decides which of them gets the one wide kernel.
    static func bandwidths(_ mus: [Double], low: Double, high: Double) -> [Double] {
        let order = NumpyArgsort.order(mus)
        let padded: [Double] = [low] + order.map { mus[$0] } + [high]
        var sorted: [Double] = (1..<(padded.count - 1)).map { (i: Int) -> Double in
            let left: Double = padded[i] - padded[i - 1]
            let right: Double = padded[i + 1] - padded[i]
            return max(left, right)
        }
        if padded.count >= 4 {
            sorted[0] = padded[2] - padded[1]
            sorted[sorted.count - 1] = padded[padded.count - 2] - padded[padded.count - 3]
        }
        let maxSigma = high - low
        let minSigma = (high - low) / min(100.0, Double(mus.count + 2))
        var sigmas = [Double](repeating: 0, count: mus.count)
        for (rank, index) in order.enumerated() { sigmas[index] = min(max(sorted[rank], minSigma), maxSigma) }
        return sigmas
    }
}

extension ParzenEstimator {
    /// log of the mixture's density at `point` (internal values, in the distributions' order), in internal
    /// space (log params measured in log units, as Optuna's `log_pdf`).
    public func logDensity(_ point: [Double]) -> Double {
        var terms = weights.map { Foundation.log($0) }
        for (dimension, kernelSet) in kernels.enumerated() {
            let x = point[dimension]
            switch kernelSet {
            case let .categorical(rows):
                for j in terms.indices { terms[j] += Foundation.log(rows[j][Int(x)]) }
            case let .numeric(numeric):
                for j in terms.indices { terms[j] += numeric.logDensity(x, kernel: j) }
            }
        }
        let largest = terms.max() ?? -.infinity
        let shift = largest == -.infinity ? 0 : largest
        return Foundation.log(terms.reduce(0) { $0 + exp($1 - shift) }) + shift
    }

    /// `count` draws from the mixture: a kernel by weight, then each parameter from that kernel.
    public func sample(count: Int, using generator: inout SeededRandom) -> [[Double]] {
        (0..<count).map { _ in
            let kernel = ParzenEstimator.pick(weights, uniform: generator.nextUnit())
            return kernels.map { kernelSet in
                switch kernelSet {
                case let .categorical(rows): return Double(ParzenEstimator.pick(rows[kernel], uniform: generator.nextUnit()))
                case let .numeric(numeric): return numeric.sample(kernel: kernel, uniform: generator.nextUnit())
                }
            }
        }
    }

    /// The first index whose cumulative probability exceeds `uniform` (the last absorbs rounding).
    static func pick(_ probabilities: [Double], uniform: Double) -> Int {
        var cumulative = 0.0
        for (index, probability) in probabilities.enumerated().dropLast() {
            cumulative += probability
            if uniform < cumulative { return index }
        }
        return probabilities.count - 1
    }
}
