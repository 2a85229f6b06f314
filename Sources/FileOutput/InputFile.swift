#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Opening input files (datasets, manifests, weights): regular files only, so a FIFO, a directory
/// or a device in a file's place is a clear error instead of a hang or an odd system message.
public enum InputFile {
    /// A path that cannot be read as a regular file; `reason` says why in plain words.
    public struct OpenError: Error, CustomStringConvertible, Equatable {
        public let path: String
        public let reason: String
        public init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
        public var description: String { "\(path): cannot open (\(reason))" }
    }

    /// Throws unless `path` (following links) is an existing regular file. Does not open it, so
    /// it cannot block on a FIFO.
    public static func requireRegular(_ path: String) throws(OpenError) {
        var status = stat()
        guard stat(path, &status) == 0 else { throw OpenError(path: path, reason: reason(errno)) }
        try requireRegular(status, path)
    }

    /// Opens `path` read-only (close-on-exec); a FIFO, directory or device is refused without blocking.
    /// The caller closes the descriptor.
    public static func open(_ path: String) throws(OpenError) -> Int32 {
        let descriptor = systemOpen(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw OpenError(path: path, reason: reason(errno)) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let text = reason(errno)
            close(descriptor)
            throw OpenError(path: path, reason: text)
        }
        do { try requireRegular(status, path) } catch {
            close(descriptor)
            throw error
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
        return descriptor
    }

    /// The whole content of the regular file `path`.
    public static func readAll(_ path: String) throws(OpenError) -> [UInt8] {
        let descriptor = try open(path)
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(descriptor, $0.baseAddress!, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw OpenError(path: path, reason: "read failed: " + reason(errno))
            }
            if count == 0 { return bytes }
            bytes += chunk.prefix(count)
        }
    }

    private static func requireRegular(_ status: stat, _ path: String) throws(OpenError) {
        switch status.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFDIR: throw OpenError(path: path, reason: "it is a directory, not a file")
        case S_IFIFO: throw OpenError(path: path, reason: "it is a FIFO (named pipe), not a regular file")
        case S_IFCHR, S_IFBLK: throw OpenError(path: path, reason: "it is a device, not a regular file")
        case S_IFSOCK: throw OpenError(path: path, reason: "it is a socket, not a regular file")
        default: throw OpenError(path: path, reason: "not a regular file")
        }
    }

    /// Plain words for the `errno` values users meet; the system's text otherwise.
    static func reason(_ code: Int32) -> String {
        switch code {
        case ENOENT: return "no such file"
        case ELOOP: return "a loop of symbolic links"
        case EACCES: return "permission denied"
        case ENOTDIR: return "a component of the path is not a directory"
        default: return String(cString: strerror(code))
        }
    }

    private static func systemOpen(_ path: String, _ flags: Int32) -> Int32 {
        #if canImport(Glibc)
        Glibc.open(path, flags)
        #else
        Darwin.open(path, flags)
        #endif
    }

    private static func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.read(descriptor, buffer, count)
        #else
        Darwin.read(descriptor, buffer, count)
        #endif
    }
}
