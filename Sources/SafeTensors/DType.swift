/// The element type of a stored tensor, spelled as in the safetensors header.
///
/// `floats` reads F32, F16, BF16 and F64; `int64s` reads I64 and I32. The other cases are in the
/// format and can be listed and size-checked, but reading them as numbers is unsupported.
public enum DType: String, Sendable, CaseIterable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64"
    case i64 = "I64", i32 = "I32", u8 = "U8", bool = "BOOL"
    case i8 = "I8", i16 = "I16", u16 = "U16", u32 = "U32", u64 = "U64"
    case f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2", f8e8m0 = "F8_E8M0", c64 = "C64"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .u8, .i8, .bool, .f8e4m3, .f8e5m2, .f8e8m0: return 1
        case .f16, .bf16, .i16, .u16: return 2
        case .f32, .i32, .u32: return 4
        case .f64, .i64, .u64, .c64: return 8
        }
    }

    /// Rank in the reference implementation's dtype list; its writer stores tensors in descending
    /// rank (then by name), and the writer here does the same so files match byte for byte.
    var referenceRank: Int {
        switch self {
        case .bool: return 0
        case .u8: return 4
        case .i8: return 5
        case .f8e5m2: return 6
        case .f8e4m3: return 7
        case .f8e8m0: return 8
        case .i16: return 9
        case .u16: return 10
        case .f16: return 11
        case .bf16: return 12
        case .i32: return 13
        case .u32: return 14
        case .f32: return 15
        case .c64: return 16
        case .f64: return 17
        case .i64: return 18
        case .u64: return 19
        }
    }
}
