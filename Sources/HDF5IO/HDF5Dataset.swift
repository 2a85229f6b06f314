import CHDF5

/// An open dataset: its shape and stored element type, typed reads and writes of the whole
/// dataset or of hyperslabs.
public final class HDF5Dataset: HDF5Object, @unchecked Sendable {
    public let file: HDF5File
    public let objectID: hid_t
    public let objectPath: String

    /// Where the dataset's data are stored, for checking the file still holds them (nil for a
    /// dataset of a file opened for writing, whose storage still changes).
    private enum Storage {
        /// One block ending at byte `end` (0 when not allocated).
        case contiguous(end: Int)
        /// Chunks of this shape, each located through the chunk index.
        case chunked(chunk: [Int])
    }
    private let storage: Storage?

    init(file: HDF5File, id: hid_t, path: String) {
        self.file = file
        self.objectID = id
        self.objectPath = path
        self.storage = file.isReadOnly ? Self.storage(of: id) : nil
    }

    deinit {
        HDF5Library.silenceErrorsOnThisThread()
        H5Dclose(objectID)
    }

    private static func storage(of id: hid_t) -> Storage {
        HDF5Library.silenceErrorsOnThisThread()
        let dcpl = H5Dget_create_plist(id)
        defer { H5Pclose(dcpl) }
        guard H5Pget_layout(dcpl) == H5D_CHUNKED else {
            let offset = H5Dget_offset(id)
            return .contiguous(end: offset == shim_HADDR_UNDEF() ? 0 : Int(offset) + Int(H5Dget_storage_size(id)))
        }
        var dims = [hsize_t](repeating: 0, count: 32)
        let rank = Int(H5Pget_chunk(dcpl, 32, &dims))
        return .chunked(chunk: dims.prefix(Swift.max(rank, 0)).map { Swift.max(Int($0), 1) })
    }

    /// The end of the stored bytes that the selection at `offset` of extent `count` reads.
    private func storageEnd(offset: [Int], count: [Int]) -> Int {
        switch storage {
        case nil: return 0
        case let .contiguous(end): return end
        case let .chunked(chunk):
            guard chunk.count == offset.count, !count.contains(0) else { return 0 }
            // Every chunk the selection touches, as an odometer over chunk-aligned coordinates.
            let first = zip(offset, chunk).map { ($0 / $1) * $1 }
            let last = zip(offset.indices, chunk).map { axis, size in ((offset[axis] + count[axis] - 1) / size) * size }
            var coordinate = first
            var end = 0
            while true {
                var scaled = coordinate.map { hsize_t($0) }
                var filter: UInt32 = 0
                var address: haddr_t = 0
                var size: hsize_t = 0
                if H5Dget_chunk_info_by_coord(objectID, &scaled, &filter, &address, &size) >= 0, address != shim_HADDR_UNDEF() {
                    end = Swift.max(end, Int(address) + Int(size))
                }
                var d = coordinate.count - 1
                while d >= 0 && coordinate[d] == last[d] {
                    coordinate[d] = first[d]
                    d -= 1
                }
                if d < 0 { return end }
                coordinate[d] += chunk[d]
            }
        }
    }

    /// Throws when the file is now shorter than the data just read: HDF5 reads the missing bytes
    /// of a file truncated while open as zeros, without an error.
    private func requireStorageIntact(offset: [Int], count: [Int]) throws(HDF5Error) {
        let end = storageEnd(offset: offset, count: count)
        guard end > 0, let size = file.currentSize(), size < end else { return }
        throw .readFailed(file: file.path, path: objectPath,
                          reason: "the file is \(size) bytes but the data read end at byte \(end): it was truncated")
    }

    /// The current extent, outermost dimension first.
    public var shape: [Int] {
        let space = H5Dget_space(objectID)
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard rank > 0 else { return [] }
        var dims = [hsize_t](repeating: 0, count: rank)
        H5Sget_simple_extent_dims(space, &dims, nil)
        return dims.map { Int($0) }
    }

    /// The number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// The stored element type in numpy's words (`uint8`, `int64`, `float32`, `string`, ...).
    public var elementTypeName: String {
        let type = H5Dget_type(objectID)
        defer { H5Tclose(type) }
        return describeType(type)
    }

    /// The chunk shape, or nil for a contiguous dataset.
    public var chunkShape: [Int]? {
        let dcpl = H5Dget_create_plist(objectID)
        defer { H5Pclose(dcpl) }
        guard H5Pget_layout(dcpl) == H5D_CHUNKED else { return nil }
        var dims = [hsize_t](repeating: 0, count: 32)
        let rank = Int(H5Pget_chunk(dcpl, 32, &dims))
        return dims.prefix(rank).map { Int($0) }
    }

    // MARK: - Checks

    /// Throws unless the stored element type is exactly `T` (no silent conversion).
    public func requireElementType<T: HDF5Element>(_ type: T.Type) throws(HDF5Error) {
        let found = elementTypeName
        if found != T.typeName {
            throw .wrongElementType(file: file.path, path: objectPath, expected: T.typeName, found: found)
        }
    }

    /// Throws unless the dataset has `rank` dimensions; returns the shape.
    @discardableResult
    public func requireRank(_ rank: Int) throws(HDF5Error) -> [Int] {
        let s = shape
        if s.count != rank { throw .wrongRank(file: file.path, path: objectPath, expected: rank, shape: s) }
        return s
    }

    // MARK: - Reading

    /// Reads the whole dataset.
    /// - Throws: `wrongElementType` unless stored as `T`; `readFailed` for damaged data.
    public func read<T: HDF5Element>(as type: T.Type) throws(HDF5Error) -> [T] {
        let s = shape
        return try read(as: type, offset: [Int](repeating: 0, count: s.count), count: s)
    }

    /// Reads the hyperslab starting at `offset` of extent `count`, in row-major order.
    public func read<T: HDF5Element>(as type: T.Type, offset: [Int], count: [Int]) throws(HDF5Error) -> [T] {
        var values = [T](repeating: T.zero, count: count.reduce(1, *))
        try values.withUnsafeMutableBufferPointer { (buffer) throws(HDF5Error) in
            try read(into: buffer, offset: offset, count: count)
        }
        return values
    }

    /// Reads rows `rows` of the first dimension (all of every other dimension).
    public func read<T: HDF5Element>(as type: T.Type, rows: Range<Int>) throws(HDF5Error) -> [T] {
        var offset = [Int](repeating: 0, count: Swift.max(shape.count, 1))
        var count = shape
        guard !count.isEmpty else {
            throw .wrongRank(file: file.path, path: objectPath, expected: 1, shape: [])
        }
        offset[0] = rows.lowerBound
        count[0] = rows.count
        return try read(as: type, offset: offset, count: count)
    }

    /// Reads the hyperslab at `offset` of extent `count` into `buffer` without allocating.
    /// - Throws: `outOfBounds` for a selection outside the dataset, `sizeMismatch` when the buffer
    ///   is not exactly the selection's size.
    public func read<T: HDF5Element>(into buffer: UnsafeMutableBufferPointer<T>, offset: [Int], count: [Int]) throws(HDF5Error) {
        HDF5Library.silenceErrorsOnThisThread()
        try requireElementType(T.self)
        let (fileSpace, memorySpace) = try selection(offset: offset, count: count, bufferCount: buffer.count)
        defer { H5Sclose(fileSpace); H5Sclose(memorySpace) }
        if buffer.isEmpty { return }
        if H5Dread(objectID, T.nativeType, memorySpace, fileSpace, shim_H5P_DEFAULT(), buffer.baseAddress) < 0 {
            throw .readFailed(file: file.path, path: objectPath, reason: HDF5Library.lastErrorMessage())
        }
        try requireStorageIntact(offset: offset, count: count)
    }

    /// Reads a one-dimensional dataset of strings (variable-length or fixed-length, as h5py writes).
    public func readStrings() throws(HDF5Error) -> [String] {
        HDF5Library.silenceErrorsOnThisThread()
        let type = H5Dget_type(objectID)
        defer { H5Tclose(type) }
        guard H5Tget_class(type) == H5T_STRING else {
            throw .wrongElementType(file: file.path, path: objectPath, expected: "string", found: describeType(type))
        }
        let n = try requireRank(1)[0]
        let space = H5Dget_space(objectID)
        defer { H5Sclose(space) }
        let id = objectID
        guard let strings = decodeStrings(count: n, storedType: type, space: space, read: { memoryType, buffer in
            H5Dread(id, memoryType, shim_H5S_ALL(), shim_H5S_ALL(), shim_H5P_DEFAULT(), buffer)
        }) else {
            throw .readFailed(file: file.path, path: objectPath, reason: HDF5Library.lastErrorMessage())
        }
        return strings
    }

    // MARK: - Writing

    /// Writes the whole dataset.
    public func write<T: HDF5Element>(_ values: [T]) throws(HDF5Error) {
        let s = shape
        try write(values, offset: [Int](repeating: 0, count: s.count), count: s)
    }

    /// Writes `values` into the hyperslab at `offset` of extent `count`.
    public func write<T: HDF5Element>(_ values: [T], offset: [Int], count: [Int]) throws(HDF5Error) {
        try values.withUnsafeBufferPointer { (buffer) throws(HDF5Error) in
            try write(from: buffer, offset: offset, count: count)
        }
    }

    /// Writes `buffer` into the hyperslab at `offset` of extent `count`.
    public func write<T: HDF5Element>(from buffer: UnsafeBufferPointer<T>, offset: [Int], count: [Int]) throws(HDF5Error) {
        HDF5Library.silenceErrorsOnThisThread()
        try requireElementType(T.self)
        let (fileSpace, memorySpace) = try selection(offset: offset, count: count, bufferCount: buffer.count)
        defer { H5Sclose(fileSpace); H5Sclose(memorySpace) }
        if buffer.isEmpty { return }
        if H5Dwrite(objectID, T.nativeType, memorySpace, fileSpace, shim_H5P_DEFAULT(), buffer.baseAddress) < 0 {
            throw .writeFailed(file: file.path, path: objectPath, reason: HDF5Library.lastErrorMessage())
        }
    }

    /// Changes the extent (only a dataset created `growable` may grow past its first shape).
    public func resize(to newShape: [Int]) throws(HDF5Error) {
        HDF5Library.silenceErrorsOnThisThread()
        var dims = newShape.map { hsize_t($0) }
        if H5Dset_extent(objectID, &dims) < 0 {
            throw .writeFailed(file: file.path, path: objectPath, reason: HDF5Library.lastErrorMessage())
        }
    }

    /// A file dataspace with the hyperslab selected and a matching memory dataspace; the caller
    /// closes both.
    private func selection(offset: [Int], count: [Int], bufferCount: Int) throws(HDF5Error) -> (hid_t, hid_t) {
        let s = shape
        let fits = offset.count == s.count && count.count == s.count
            && s.indices.allSatisfy { axis in
                offset[axis] >= 0 && count[axis] >= 0 && offset[axis] + count[axis] <= s[axis]
            }
        guard fits else { throw .outOfBounds(file: file.path, path: objectPath, offset: offset, count: count, shape: s) }
        let total = count.reduce(1, *)
        guard total == bufferCount else {
            throw .sizeMismatch(file: file.path, path: objectPath, expected: total, given: bufferCount)
        }
        let fileSpace = H5Dget_space(objectID)
        if !s.isEmpty {
            var start = offset.map { hsize_t($0) }
            var extent = count.map { hsize_t($0) }
            H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &start, nil, &extent, nil)
        }
        var memoryDims = count.map { hsize_t($0) }
        let memorySpace = s.isEmpty ? H5Screate(H5S_SCALAR) : H5Screate_simple(Int32(memoryDims.count), &memoryDims, nil)
        return (fileSpace, memorySpace)
    }
}
