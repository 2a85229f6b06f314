import CHDF5

/// A file, group or dataset: something that carries attributes.
public protocol HDF5Object: AnyObject {
    var file: HDF5File { get }
    var objectID: hid_t { get }
    /// The object's path inside the file, for messages.
    var objectPath: String { get }
}

extension HDF5Object {
    private func attributePath(_ name: String) -> String {
        objectPath == "/" ? "/@\(name)" : "\(objectPath)@\(name)"
    }

    /// Whether the object has an attribute called `name`.
    public func hasAttribute(_ name: String) -> Bool {
        H5Aexists(objectID, name) > 0
    }

    /// Opens attribute `name`, runs `body` with its id and stored type, then closes both.
    private func withAttribute<R>(_ name: String, _ body: (hid_t, hid_t) throws(HDF5Error) -> R) throws(HDF5Error) -> R {
        HDF5Library.silenceErrorsOnThisThread()
        guard hasAttribute(name) else { throw .missingObject(file: file.path, path: attributePath(name)) }
        let attribute = H5Aopen(objectID, name, shim_H5P_DEFAULT())
        guard attribute >= 0 else {
            throw .readFailed(file: file.path, path: attributePath(name), reason: HDF5Library.lastErrorMessage())
        }
        defer { H5Aclose(attribute) }
        let type = H5Aget_type(attribute)
        defer { H5Tclose(type) }
        return try body(attribute, type)
    }

    private func elementCount(of attribute: hid_t) -> Int {
        let space = H5Aget_space(attribute)
        defer { H5Sclose(space) }
        return Int(H5Sget_simple_extent_npoints(space))
    }

    /// Reads a string attribute or a string-array attribute (variable- or fixed-length) as a list.
    public func readStringsAttribute(_ name: String) throws(HDF5Error) -> [String] {
        let path = attributePath(name)
        let fileName = file.path
        return try withAttribute(name) { (attribute, type) throws(HDF5Error) in
            guard H5Tget_class(type) == H5T_STRING else {
                throw .wrongElementType(file: fileName, path: path, expected: "string", found: describeType(type))
            }
            let n = elementCount(of: attribute)
            if n == 0 { return [] }
            if H5Tis_variable_str(type) > 0 {
                let memType = makeVariableStringType()
                defer { H5Tclose(memType) }
                var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: n)
                guard H5Aread(attribute, memType, &pointers) >= 0 else {
                    throw .readFailed(file: fileName, path: path, reason: HDF5Library.lastErrorMessage())
                }
                let strings = pointers.map { $0.map { String(cString: $0) } ?? "" }
                let space = H5Aget_space(attribute)
                defer { H5Sclose(space) }
                H5Dvlen_reclaim(memType, space, shim_H5P_DEFAULT(), &pointers)
                return strings
            }
            let width = H5Tget_size(type)
            var bytes = [UInt8](repeating: 0, count: n * width)
            guard H5Aread(attribute, type, &bytes) >= 0 else {
                throw .readFailed(file: fileName, path: path, reason: HDF5Library.lastErrorMessage())
            }
            return (0..<n).map { i in
                String(decoding: bytes[(i * width)..<((i + 1) * width)].prefix(while: { $0 != 0 }), as: UTF8.self)
            }
        }
    }

    /// Reads a scalar string attribute.
    public func readStringAttribute(_ name: String) throws(HDF5Error) -> String {
        let values = try readStringsAttribute(name)
        guard values.count == 1 else {
            throw .wrongRank(file: file.path, path: attributePath(name), expected: 0, shape: [values.count])
        }
        return values[0]
    }

    /// Reads a numeric attribute (scalar or array) stored exactly as `T`.
    public func readAttribute<T: HDF5Element>(_ name: String, as type: T.Type) throws(HDF5Error) -> [T] {
        let path = attributePath(name)
        let fileName = file.path
        return try withAttribute(name) { (attribute, stored) throws(HDF5Error) in
            let found = describeType(stored)
            guard found == T.typeName else {
                throw .wrongElementType(file: fileName, path: path, expected: T.typeName, found: found)
            }
            var values = [T](repeating: T.zero, count: elementCount(of: attribute))
            if values.isEmpty { return values }
            let status = values.withUnsafeMutableBufferPointer { H5Aread(attribute, T.nativeType, $0.baseAddress) }
            guard status >= 0 else {
                throw .readFailed(file: fileName, path: path, reason: HDF5Library.lastErrorMessage())
            }
            return values
        }
    }

    /// Writes (or replaces) a scalar variable-length UTF-8 string attribute, as h5py does for `str`.
    public func writeAttribute(_ name: String, string: String) throws(HDF5Error) {
        try writeStrings(name, [string], scalar: true)
    }

    /// Writes (or replaces) a one-dimensional variable-length UTF-8 string array attribute.
    public func writeAttribute(_ name: String, strings: [String]) throws(HDF5Error) {
        try writeStrings(name, strings, scalar: false)
    }

    /// Writes (or replaces) a one-dimensional numeric attribute.
    public func writeAttribute<T: HDF5Element>(_ name: String, values: [T]) throws(HDF5Error) {
        var dims = [hsize_t(values.count)]
        let space = H5Screate_simple(1, &dims, nil)
        defer { H5Sclose(space) }
        let attribute = try createAttribute(name, type: T.nativeType, space: space)
        defer { H5Aclose(attribute) }
        if values.isEmpty { return }
        let status = values.withUnsafeBufferPointer { H5Awrite(attribute, T.nativeType, $0.baseAddress) }
        guard status >= 0 else {
            throw .writeFailed(file: file.path, path: attributePath(name), reason: HDF5Library.lastErrorMessage())
        }
    }

    private func writeStrings(_ name: String, _ strings: [String], scalar: Bool) throws(HDF5Error) {
        var dims = [hsize_t(strings.count)]
        let space = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dims, nil)
        defer { H5Sclose(space) }
        let type = makeVariableStringType()
        defer { H5Tclose(type) }
        let attribute = try createAttribute(name, type: type, space: space)
        defer { H5Aclose(attribute) }
        if strings.isEmpty { return }
        let status = withCStringArray(strings) { H5Awrite(attribute, type, $0) }
        guard status >= 0 else {
            throw .writeFailed(file: file.path, path: attributePath(name), reason: HDF5Library.lastErrorMessage())
        }
    }

    private func createAttribute(_ name: String, type: hid_t, space: hid_t) throws(HDF5Error) -> hid_t {
        HDF5Library.silenceErrorsOnThisThread()
        if hasAttribute(name) { H5Adelete(objectID, name) }
        let attribute = H5Acreate2(objectID, name, type, space, shim_H5P_DEFAULT(), shim_H5P_DEFAULT())
        guard attribute >= 0 else {
            throw .writeFailed(file: file.path, path: attributePath(name), reason: HDF5Library.lastErrorMessage())
        }
        return attribute
    }
}
