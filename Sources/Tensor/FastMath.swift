/// Branch-free f32 `exp` and `erf` that the compiler vectorizes (libm's scalar calls do not), for
/// the element-wise kernels (softmax, GELU). Accuracy is at f32 rounding level; the kernel tests
/// compare against Double references.
public enum FastMath {
    /// e^x with relative error about 2e-7 on [-87.3, 88.3]; 0 below (like libm, which returns
    /// subnormals there that would slow every later product), e^88.3 above.
    /// Cephes' expf: x = k·ln2 + r, a degree-6 polynomial for e^r, 2^k from the exponent bits.
    @inlinable @inline(__always)
    public static func exp(_ value: Float) -> Float {
        let x = Swift.min(Swift.max(value, -87.3), 88.3)
        // Round x·log2(e) to the nearest integer with the 1.5·2^23 trick; its low bits are k.
        let shifted = x * 1.44269504088896341 + 12582912
        let k = Int32(bitPattern: shifted.bitPattern) &- 0x4B40_0000
        let kf = shifted - 12582912
        let r = x - kf * 0.693359375 + kf * 2.12194440e-4
        var p: Float = 1.9875691500e-4
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let e = p * (r * r) + r + 1
        let result = e * Float(bitPattern: UInt32(bitPattern: (k &+ 127) &<< 23))
        return value < -87.3 ? 0 : result
    }

    /// erf(x) with absolute error below 5e-7 (Abramowitz & Stegun 7.1.26: 1.5e-7, plus f32 rounding).
    @inlinable @inline(__always)
    public static func erf(_ x: Float) -> Float { erfAndGaussian(x).erf }

    /// erf(x) as `erf`, and the e^(−x²) it computes on the way (the normal density's exponential
    /// at √2·x, which GELU's derivative needs: one exponential for both).
    @inlinable @inline(__always)
    public static func erfAndGaussian(_ x: Float) -> (erf: Float, gaussian: Float) {
        let a = Swift.abs(x)
        let t = 1 / (1 + 0.3275911 * a)
        var p: Float = 1.061405429
        p = p * t - 1.453152027
        p = p * t + 1.421413741
        p = p * t - 0.284496736
        p = p * t + 0.254829592
        let gaussian = exp(-a * a)
        let y = 1 - p * t * gaussian
        return (x < 0 ? -y : y, gaussian)
    }
}
