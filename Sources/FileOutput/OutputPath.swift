#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// The check that an output never replaces something the command reads or a file a run owns.
public enum OutputPath {
    /// A file the command must not overwrite: one of its inputs, or a file of a run directory.
    public struct Protected: Sendable {
        /// What the file is, for the message: "--weights", "the run's checkpoint", ...
        public var role: String
        /// The file's path as given.
        public var path: String
        public init(role: String, path: String) {
            self.role = role
            self.path = path
        }
    }

    /// An output that is (or resolves to, through symbolic or hard links) a protected file.
    public struct Conflict: Error, CustomStringConvertible, Equatable {
        /// The option naming the output (`--out`).
        public let option: String
        public let output: String
        public let role: String
        public let protectedPath: String
        public var description: String {
            let same = output == protectedPath ? "" : " (\(protectedPath))"
            return "\(option) \(output): is the same file as \(role)\(same); writing it would destroy that file. "
                + "Choose another \(option) path."
        }
    }

    /// Throws when `output` names the same file as any of `protected` (compared after resolving
    /// symbolic links, and by device and inode so hard links count too).
    /// An output that does not exist yet is compared through its resolved parent folder.
    public static func check(output: String, protected: [Protected], option: String) throws(Conflict) {
        let resolvedOutput = resolve(output)
        let outputIdentity = identity(output)
        for file in protected {
            let sameIdentity = outputIdentity != nil && outputIdentity == identity(file.path)
            if sameIdentity || (resolvedOutput != nil && resolvedOutput == resolve(file.path)) {
                throw Conflict(option: option, output: output, role: file.role, protectedPath: file.path)
            }
        }
    }

    /// The absolute path with every symbolic link resolved; for a path that does not exist, its
    /// parent folder resolved plus its last component. Nil when neither resolves.
    static func resolve(_ path: String) -> String? {
        if let full = realPath(path) { return full }
        let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
        guard let slash = trimmed.lastIndex(of: "/") else { return realPath(".").map { $0 + "/" + trimmed } }
        let parent = String(trimmed[..<slash])
        let name = String(trimmed[trimmed.index(after: slash)...])
        return realPath(parent.isEmpty ? "/" : parent).map { ($0 == "/" ? "" : $0) + "/" + name }
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Device and inode of the file `path` names (following links), or nil when it does not exist.
    private static func identity(_ path: String) -> [UInt64]? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return [UInt64(status.st_dev), UInt64(status.st_ino)]
    }
}
