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

/// Reads `count` strings stored as `storedType` (variable- or fixed-length, as h5py writes them)
/// through `read`, which fills a buffer in the memory type it is given; `space` is the object's
/// dataspace, needed to free HDF5's variable-length memory. Returns nil when `read` fails.
func decodeStrings(count n: Int, storedType: hid_t, space: hid_t,
                   read: (hid_t, UnsafeMutableRawPointer) -> herr_t) -> [String]? {
    if n == 0 { return [] }
    if H5Tis_variable_str(storedType) > 0 {
        let memoryType = makeVariableStringType()
        defer { H5Tclose(memoryType) }
        var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: n)
        let status = pointers.withUnsafeMutableBytes { read(memoryType, $0.baseAddress!) }
        guard status >= 0 else { return nil }
        let strings = pointers.map { $0.map { String(cString: $0) } ?? "" }
        H5Dvlen_reclaim(memoryType, space, shim_H5P_DEFAULT(), &pointers)
        return strings
    }
    let width = H5Tget_size(storedType)
    var bytes = [UInt8](repeating: 0, count: n * width)
    let status = bytes.withUnsafeMutableBytes { read(storedType, $0.baseAddress!) }
    guard status >= 0 else { return nil }
    return (0..<n).map { i in
        String(decoding: bytes[(i * width)..<((i + 1) * width)].prefix(while: { $0 != 0 }), as: UTF8.self)
    }
}
