/// Sums with eight independent accumulators, so the loops vectorize (strict f32 addition forbids
/// reordering one accumulator); the result differs from a serial sum by rounding only.
public enum RowSum {
    /// Σ x[j] for j in 0..<count.
    @inlinable @inline(__always)
    public static func sum(_ x: UnsafePointer<Float>, _ count: Int) -> Float {
        var acc = SIMD8<Float>()
        var j = 0
        let raw = UnsafeRawPointer(x)
        while j + 8 <= count {
            acc += raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
            j += 8
        }
        var total = acc.sum()
        while j < count { total += x[j]; j += 1 }
        return total
    }

    /// max_j x[j] (−∞ for an empty row); a NaN in the row may be missed, as in any SIMD max.
    @inlinable @inline(__always)
    public static func maximum(_ x: UnsafePointer<Float>, _ count: Int) -> Float {
        var acc = SIMD8<Float>(repeating: -.infinity)
        var j = 0
        let raw = UnsafeRawPointer(x)
        while j + 8 <= count {
            let v = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
            acc.replace(with: v, where: v .> acc)  // (the generic pointwiseMax was not inlined)
            j += 8
        }
        var result = acc.max()
        while j < count { result = x[j] > result ? x[j] : result; j += 1 }
        return result
    }

    /// Σ (x[j] − mean)² for j in 0..<count.
    @inlinable @inline(__always)
    public static func centeredSquares(_ x: UnsafePointer<Float>, mean: Float, _ count: Int) -> Float {
        var acc = SIMD8<Float>()
        let m = SIMD8<Float>(repeating: mean)
        var j = 0
        let raw = UnsafeRawPointer(x)
        while j + 8 <= count {
            let d = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) - m
            acc += d * d
            j += 8
        }
        var total = acc.sum()
        while j < count { let d = x[j] - mean; total += d * d; j += 1 }
        return total
    }

    /// Σ a[j]·b[j]·(c[j] − center) for j in 0..<count (centred first, so a large mean does not
    /// cancel digits away).
    @inlinable @inline(__always)
    public static func centeredTripleDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafePointer<Float>,
                                         center: Float, _ count: Int) -> Float {
        var acc = SIMD8<Float>()
        let m = SIMD8<Float>(repeating: center)
        var j = 0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b), rc = UnsafeRawPointer(c)
        while j + 8 <= count {
            acc += ra.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
                * (rc.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) - m)
            j += 8
        }
        var total = acc.sum()
        while j < count { total += a[j] * b[j] * (c[j] - center); j += 1 }
        return total
    }

    /// Σ a[j]·b[j] for j in 0..<count.
    @inlinable @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        var acc = SIMD8<Float>()
        var j = 0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        while j + 8 <= count {
            acc += ra.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
            j += 8
        }
        var total = acc.sum()
        while j < count { total += a[j] * b[j]; j += 1 }
        return total
    }
}
