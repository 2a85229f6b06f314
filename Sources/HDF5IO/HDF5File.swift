import CHDF5
import FileOutput
#if canImport(Glibc)
import Glibc
#endif

/// An open HDF5 file. Closed when the last reference (including its datasets') goes away.
///
/// The Debian HDF5 library is built thread-safe, so a file may be read from several threads.
public final class HDF5File: HDF5Object, @unchecked Sendable {
    public enum Mode: Sendable {
        case readOnly
        case readWrite
        /// Create, replacing any existing file.
        case create
    }

    public let path: String
    public let objectID: hid_t
    public var objectPath: String { "/" }
    public var file: HDF5File { self }

    /// Opens or creates `path`.
    /// - Throws: `HDF5Error.cannotOpen` for a missing, unreadable, non-HDF5 or damaged file;
    ///   `HDF5Error.cannotCreate` when the file cannot be written.
    public init(path: String, mode: Mode = .readOnly) throws(HDF5Error) {
        HDF5Library.silenceErrorsOnThisThread()
        self.path = path
        self.isReadOnly = mode == .readOnly
        if mode != .create {
            // HDF5 would block opening a FIFO and give odd messages for a directory or a link loop.
            do { try InputFile.requireRegular(path) } catch { throw .cannotOpen(file: path, reason: error.reason) }
        }
        // No flock(): parallel file systems often lack it (HDF5 then refuses to open anything), and
        // a child process started while a file is open inherits the descriptor and its lock.
        let access = H5Pcreate(shim_H5P_FILE_ACCESS())
        defer { H5Pclose(access) }
        H5Pset_file_locking(access, false, true)
        let id: hid_t
        switch mode {
        case .readOnly: id = H5Fopen(path, shim_H5F_ACC_RDONLY(), access)
        case .readWrite: id = H5Fopen(path, shim_H5F_ACC_RDWR(), access)
        case .create: id = H5Fcreate(path, shim_H5F_ACC_TRUNC(), shim_H5P_DEFAULT(), access)
        }
        guard id >= 0 else {
            let reason = HDF5Library.lastErrorMessage()
            if mode == .create { throw .cannotCreate(file: path, reason: reason) }
            throw .cannotOpen(file: path, reason: reason)
        }
        objectID = id
    }

    /// Whether the file was opened read-only.
    public let isReadOnly: Bool

    deinit {
        HDF5Library.silenceErrorsOnThisThread()
        H5Fclose(objectID)
    }

    /// The file's size on disk now (it may have changed since opening), or nil if unknown.
    func currentSize() -> Int? {
        var handle: UnsafeMutableRawPointer?
        var status = stat()
        // The sec2 driver's handle is its file descriptor: size the open file, not whatever the path names now.
        if H5Fget_vfd_handle(objectID, shim_H5P_DEFAULT(), &handle) >= 0, let handle,
           fstat(handle.load(as: Int32.self), &status) == 0 {
            return Int(status.st_size)
        }
        return stat(path, &status) == 0 ? Int(status.st_size) : nil
    }

    /// Writes buffered data to disk.
    public func flush() throws(HDF5Error) {
        if H5Fflush(objectID, H5F_SCOPE_LOCAL) < 0 {
            throw .writeFailed(file: path, path: "/", reason: HDF5Library.lastErrorMessage())
        }
    }

    /// Whether an object exists at `path` (every intermediate group must exist too).
    public func contains(_ path: String) -> Bool {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if H5Lexists(objectID, prefix, shim_H5P_DEFAULT()) <= 0 { return false }
        }
        return true
    }

    /// Opens the dataset at `path`.
    /// - Throws: `HDF5Error.missingObject` when there is none.
    public func dataset(_ path: String) throws(HDF5Error) -> HDF5Dataset {
        HDF5Library.silenceErrorsOnThisThread()
        guard contains(path) else { throw .missingObject(file: self.path, path: path) }
        let id = H5Dopen2(objectID, path, shim_H5P_DEFAULT())
        guard id >= 0 else { throw .readFailed(file: self.path, path: path, reason: HDF5Library.lastErrorMessage()) }
        return HDF5Dataset(file: self, id: id, path: path)
    }

    /// Opens the group at `path` ("/" is the root).
    public func group(_ path: String) throws(HDF5Error) -> HDF5Group {
        HDF5Library.silenceErrorsOnThisThread()
        guard path == "/" || contains(path) else { throw .missingObject(file: self.path, path: path) }
        let id = H5Gopen2(objectID, path, shim_H5P_DEFAULT())
        guard id >= 0 else { throw .readFailed(file: self.path, path: path, reason: HDF5Library.lastErrorMessage()) }
        return HDF5Group(file: self, id: id, path: path)
    }

    /// Creates a group at `path`, with any missing parent groups; returns the existing one if present.
    @discardableResult
    public func createGroup(_ path: String) throws(HDF5Error) -> HDF5Group {
        HDF5Library.silenceErrorsOnThisThread()
        if contains(path) { return try group(path) }
        let lcpl = H5Pcreate(shim_H5P_LINK_CREATE())
        defer { H5Pclose(lcpl) }
        H5Pset_create_intermediate_group(lcpl, 1)
        let id = H5Gcreate2(objectID, path, lcpl, shim_H5P_DEFAULT(), shim_H5P_DEFAULT())
        guard id >= 0 else { throw .writeFailed(file: self.path, path: path, reason: HDF5Library.lastErrorMessage()) }
        return HDF5Group(file: self, id: id, path: path)
    }

    /// Creates a numeric dataset (parent groups included).
    ///
    /// - Parameters:
    ///   - shape: the initial shape.
    ///   - chunk: chunk shape; required for compression or an unlimited first dimension.
    ///   - growable: whether the first dimension may later grow (`HDF5Dataset.resize`).
    ///   - deflateLevel: gzip level 1-9 (with byte shuffle), or nil for none.
    public func createDataset<T: HDF5Element>(
        _ path: String, of type: T.Type, shape: [Int], chunk: [Int]? = nil,
        growable: Bool = false, deflateLevel: Int? = nil
    ) throws(HDF5Error) -> HDF5Dataset {
        HDF5Library.silenceErrorsOnThisThread()
        precondition(chunk == nil || chunk!.count == shape.count, "chunk rank \(chunk!.count) differs from shape rank \(shape.count)")
        precondition(chunk != nil || (!growable && deflateLevel == nil), "growable or compressed datasets need a chunk shape")
        var dims = shape.map { hsize_t($0) }
        var maxDims = dims
        if growable, !maxDims.isEmpty { maxDims[0] = shim_H5S_UNLIMITED() }
        let space = H5Screate_simple(Int32(dims.count), &dims, &maxDims)
        defer { H5Sclose(space) }
        let dcpl = H5Pcreate(shim_H5P_DATASET_CREATE())
        defer { H5Pclose(dcpl) }
        if var chunkDims = chunk?.map({ hsize_t(Swift.max($0, 1)) }) {
            H5Pset_chunk(dcpl, Int32(chunkDims.count), &chunkDims)
            if let level = deflateLevel {
                H5Pset_shuffle(dcpl)
                H5Pset_deflate(dcpl, UInt32(level))
            }
        }
        let lcpl = H5Pcreate(shim_H5P_LINK_CREATE())
        defer { H5Pclose(lcpl) }
        H5Pset_create_intermediate_group(lcpl, 1)
        let id = H5Dcreate2(objectID, path, T.nativeType, space, lcpl, dcpl, shim_H5P_DEFAULT())
        guard id >= 0 else { throw .writeFailed(file: self.path, path: path, reason: HDF5Library.lastErrorMessage()) }
        return HDF5Dataset(file: self, id: id, path: path)
    }

    /// Creates a one-dimensional dataset of variable-length UTF-8 strings (what h5py writes for
    /// `h5py.string_dtype()`), filled with `values`.
    @discardableResult
    public func createStringDataset(_ path: String, values: [String]) throws(HDF5Error) -> HDF5Dataset {
        HDF5Library.silenceErrorsOnThisThread()
        var dims = [hsize_t(values.count)]
        let space = H5Screate_simple(1, &dims, nil)
        defer { H5Sclose(space) }
        let type = makeVariableStringType()
        defer { H5Tclose(type) }
        let lcpl = H5Pcreate(shim_H5P_LINK_CREATE())
        defer { H5Pclose(lcpl) }
        H5Pset_create_intermediate_group(lcpl, 1)
        let id = H5Dcreate2(objectID, path, type, space, lcpl, shim_H5P_DEFAULT(), shim_H5P_DEFAULT())
        guard id >= 0 else { throw .writeFailed(file: self.path, path: path, reason: HDF5Library.lastErrorMessage()) }
        let dataset = HDF5Dataset(file: self, id: id, path: path)
        if values.isEmpty { return dataset }
        let status = withCStringArray(values) { pointers in
            H5Dwrite(id, type, shim_H5S_ALL(), shim_H5S_ALL(), shim_H5P_DEFAULT(), pointers)
        }
        guard status >= 0 else { throw .writeFailed(file: self.path, path: path, reason: HDF5Library.lastErrorMessage()) }
        return dataset
    }
}

/// An open group.
public final class HDF5Group: HDF5Object, @unchecked Sendable {
    public let file: HDF5File
    public let objectID: hid_t
    public let objectPath: String

    init(file: HDF5File, id: hid_t, path: String) {
        self.file = file
        self.objectID = id
        self.objectPath = path
    }

    deinit { H5Gclose(objectID) }

    /// The names of the group's direct members, in name order.
    public func memberNames() throws(HDF5Error) -> [String] {
        final class Names { var list: [String] = [] }
        let names = Names()
        var index: hsize_t = 0
        let visit: H5L_iterate_t = { _, name, _, context in
            guard let name, let context else { return 0 }
            Unmanaged<Names>.fromOpaque(context).takeUnretainedValue().list.append(String(cString: name))
            return 0
        }
        let status = H5Literate(objectID, H5_INDEX_NAME, H5_ITER_INC, &index, visit,
                                Unmanaged.passUnretained(names).toOpaque())
        guard status >= 0 else {
            throw .readFailed(file: file.path, path: objectPath, reason: HDF5Library.lastErrorMessage())
        }
        return names.list
    }
}

/// A variable-length UTF-8 string type; the caller closes it.
func makeVariableStringType() -> hid_t {
    let type = H5Tcopy(shim_H5T_C_S1())
    H5Tset_size(type, shim_H5T_VARIABLE())
    H5Tset_cset(type, H5T_CSET_UTF8)
    return type
}

/// Calls `body` with an array of C string pointers for `values`, valid during the call.
func withCStringArray<R>(_ values: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let storage = values.map { strdup($0) }
    defer { storage.forEach { free($0) } }
    let pointers = storage.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
