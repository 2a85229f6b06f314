#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Write-to-temporary, fsync, rename: how the writer replaces a file without ever leaving a partial one.
public enum AtomicFile {
    /// The failing system call and its `errno` text.
    public struct WriteError: Error, CustomStringConvertible {
        /// The failing step and the system's reason.
        public let reason: String
        public init(reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    /// Runs `body` on a new temporary file next to `path`, then syncs it and renames it to `path`.
    public static func write(
        to path: String, _ body: (Int32) throws(WriteError) -> Void
    ) throws(WriteError) {
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = "\(folder.isEmpty ? "" : folder)/.\(base).tmp-\(temporaryOwner)-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw WriteError(reason: "creating temporary file \(temporary): \(errorText())")
        }
        var isOpen = true
        do throws(WriteError) {
            try body(descriptor)
            guard fsync(descriptor) == 0 else { throw WriteError(reason: "fsync: \(errorText())") }
            isOpen = false
            guard close(descriptor) == 0 else { throw WriteError(reason: "close: \(errorText())") }
            guard rename(temporary, path) == 0 else {
                throw WriteError(reason: "renaming \(temporary) to the destination: \(errorText())")
            }
        } catch {
            if isOpen { close(descriptor) }
            unlink(temporary)
            throw error
        }
        // Persist the rename itself; a folder that cannot be opened or synced is not an error.
        let folderDescriptor = open(folder.isEmpty ? "/" : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folderDescriptor >= 0 {
            _ = fsync(folderDescriptor)
            close(folderDescriptor)
        }
    }

    /// This process as temporary names record it: `HOST-PID` (the host, because a run folder on a
    /// shared file system is written from many nodes).
    static var temporaryOwner: String { "\(hostName)-\(getpid())" }

    static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        // Dashes separate the name's fields; a host name's own become underscores.
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(name.map { $0 == "-" ? "_" : $0 })
    }()

    /// Removes the temporary files in `folder` that a writer killed before its rename left behind:
    /// those of this host whose process is gone. Another host's are left alone (its process may
    /// live). - Returns: the names removed.
    @discardableResult
    public static func removeAbandonedTemporaries(in folder: String) -> [String] {
        guard let directory = opendir(folder) else { return [] }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix(".") { names.append(name) }
        }
        closedir(directory)
        var removed: [String] = []
        for name in names {
            guard let range = name.ranges(of: ".tmp-\(hostName)-").last else { continue }
            let rest = name[range.upperBound...]
            guard let pid = Int32(rest.prefix { $0.isNumber }), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            if unlink(folder + "/" + name) == 0 { removed.append(name) }
        }
        return removed
    }

    /// Writes `bytes` as the whole new content of `path`, atomically.
    public static func write(_ bytes: [UInt8], to path: String) throws(WriteError) {
        try write(to: path) { (descriptor: Int32) throws(WriteError) in try writeAll(descriptor, bytes) }
    }

    /// Writes `text` (UTF-8) as the whole new content of `path`, atomically.
    public static func write(_ text: String, to path: String) throws(WriteError) {
        try write(Array(text.utf8), to: path)
    }

    /// Writes all of `bytes`, retrying partial writes and interrupted calls.
    public static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) throws(WriteError) {
        let failure: Int32? = bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let written = systemWrite(descriptor, buffer.baseAddress! + done, buffer.count - done)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                done += written
            }
            return nil
        }
        if let failure { throw WriteError(reason: "write: \(String(cString: strerror(failure)))") }
    }

    #if canImport(Glibc)
    private static let systemWrite = Glibc.write
    #else
    private static let systemWrite = Darwin.write
    #endif

    private static func errorText() -> String {
        String(cString: strerror(errno))
    }
}
