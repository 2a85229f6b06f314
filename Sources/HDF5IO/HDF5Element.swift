import CHDF5

/// A Swift scalar type with a native HDF5 counterpart.
public protocol HDF5Element: Sendable, BitwiseCopyable {
    /// HDF5's native memory type for this Swift type.
    static var nativeType: hid_t { get }
    /// The numpy-style name used in messages: `uint8`, `int64`, `float32`, ...
    static var typeName: String { get }
    static var zero: Self { get }
}

extension UInt8: HDF5Element {
    public static var nativeType: hid_t { shim_H5T_NATIVE_UINT8() }
    public static var typeName: String { "uint8" }
}
extension Int32: HDF5Element {
    public static var nativeType: hid_t { shim_H5T_NATIVE_INT32() }
    public static var typeName: String { "int32" }
}
extension Int64: HDF5Element {
    public static var nativeType: hid_t { shim_H5T_NATIVE_INT64() }
    public static var typeName: String { "int64" }
}
extension Float: HDF5Element {
    public static var nativeType: hid_t { shim_H5T_NATIVE_FLOAT() }
    public static var typeName: String { "float32" }
}
extension Double: HDF5Element {
    public static var nativeType: hid_t { shim_H5T_NATIVE_DOUBLE() }
    public static var typeName: String { "float64" }
}

/// Names a stored HDF5 datatype the way numpy would (`uint8`, `int64`, `float32`, `string`).
func describeType(_ type: hid_t) -> String {
    let size = H5Tget_size(type)
    switch H5Tget_class(type) {
    case H5T_INTEGER:
        let signed = H5Tget_sign(type) == H5T_SGN_2
        return "\(signed ? "int" : "uint")\(size * 8)"
    case H5T_FLOAT: return "float\(size * 8)"
    case H5T_STRING: return H5Tis_variable_str(type) > 0 ? "string" : "string\(size)"
    case H5T_COMPOUND: return "compound"
    case H5T_ENUM: return "enum"
    case H5T_ARRAY: return "array"
    case H5T_VLEN: return "vlen"
    case H5T_OPAQUE: return "opaque"
    default: return "unknown"
    }
}
