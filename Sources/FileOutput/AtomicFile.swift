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
        let temporary = "\(folder.isEmpty ? "" : folder)/.\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
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
