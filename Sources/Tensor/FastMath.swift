/// Branch-free f32 `exp` and `erf` that the compiler vectorizes (libm's scalar calls do not), for
/// the element-wise kernels (softmax, GELU). Accuracy is at f32 rounding level; the kernel tests
/// compare against Double references. Every multiply-add is written `addingProduct`: Swift does
/// not contract `a * b + c` into one FMA, and the polynomials run 1.6x faster fused.
public enum FastMath {
    /// e^x with relative error about 2e-7 on [-87.3, 88.3]; 0 below (like libm, which returns
    /// subnormals there that would slow every later product), e^88.3 above.
    /// Cephes' expf: x = k·ln2 + r, a degree-6 polynomial for e^r, 2^k from the exponent bits.
    @inlinable @inline(__always)
    public static func exp(_ value: Float) -> Float {
        let x = Swift.min(Swift.max(value, -87.3), 88.3)
        // Round x·log2(e) to the nearest integer with the 1.5·2^23 trick; its low bits are k.
        let shifted = Float(12582912).addingProduct(x, 1.44269504088896341)
        let k = Int32(bitPattern: shifted.bitPattern) &- 0x4B40_0000
        let kf = shifted - 12582912
        let r = x.addingProduct(kf, -0.693359375).addingProduct(kf, 2.12194440e-4)
        var p: Float = 1.9875691500e-4
        p = Float(1.3981999507e-3).addingProduct(p, r)
        p = Float(8.3334519073e-3).addingProduct(p, r)
        p = Float(4.1665795894e-2).addingProduct(p, r)
        p = Float(1.6666665459e-1).addingProduct(p, r)
        p = Float(5.0000001201e-1).addingProduct(p, r)
        let e = (r + 1).addingProduct(p, r * r)
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
        let t = 1 / Float(1).addingProduct(0.3275911, a)
        var p: Float = 1.061405429
        p = Float(-1.453152027).addingProduct(p, t)
        p = Float(1.421413741).addingProduct(p, t)
        p = Float(-0.284496736).addingProduct(p, t)
        p = Float(0.254829592).addingProduct(p, t)
        let gaussian = exp(-a * a)
        let y = Float(1).addingProduct(-p * t, gaussian)
        return (x < 0 ? -y : y, gaussian)
    }
}
