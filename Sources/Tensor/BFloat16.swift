/// bfloat16 as oneDNN and PyTorch store it: the top 16 bits of an f32, rounded to nearest even.
public enum BFloat16 {
    /// The bf16 bits of `x` (NaN stays a quiet NaN; infinities stay infinite).
    @inlinable @inline(__always)
    public static func bits(_ x: Float) -> UInt16 {
        let u = x.bitPattern
        let rounded = UInt16(truncatingIfNeeded: (u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
        return x.isNaN ? UInt16(truncatingIfNeeded: u >> 16) | 0x40 : rounded
    }

    /// The f32 value of bf16 `bits` (exact).
    @inlinable @inline(__always)
    public static func float(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    /// Converts a `rows` × `columns` block whose rows are `stride` apart into dense bf16 rows.
    public static func convert(rows: Int, columns: Int, from source: UnsafePointer<Float>, stride: Int,
                               to destination: UnsafeMutablePointer<UInt16>) {
        for r in 0..<rows {
            let s = source + r * stride, d = destination + r * columns
            for j in 0..<columns { d[j] = bits(s[j]) }
        }
    }
}

/// A tensor a kernel reads: f32, or already in bf16 (`UInt16` bits, written so by the kernel that
/// made it), in which case the kernel skips its rounding pass.
public enum Operand {
    case float32(UnsafePointer<Float>)
    case bfloat16(UnsafePointer<UInt16>)
}

/// Where a kernel writes a tensor: in f32, or in bf16 (`UInt16` bits) when the next kernel takes
/// bf16 operands, rounded once by the kernel that writes it instead of in a pass of its own.
public enum Destination {
    case float32(UnsafeMutablePointer<Float>)
    case bfloat16(UnsafeMutablePointer<UInt16>)

    /// Whether the tensor is written in bf16.
    var isBFloat16: Bool {
        if case .bfloat16 = self { return true }
        return false
    }
}
