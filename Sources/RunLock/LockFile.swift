import Foundation
import JSON

/// The lock file's system calls: exclusive creation, reading the holder, deciding staleness and
/// removing a stale lock under a second exclusive "breaker" file, so two processes that find the
/// same stale lock never both take it.
enum LockFile {
    /// What a lock file holds right now.
    enum State: Equatable {
        case holder(RunDirectoryLock.Holder)
        /// Present but not (yet) a complete holder record: its creator is still writing it, or died doing so.
        case incomplete
        case missing
    }

    /// Creates `path` exclusively with `holder`'s record; false when it already exists.
    static func create(_ path: String, holder: RunDirectoryLock.Holder) throws(RunDirectoryLockError) -> Bool {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if descriptor < 0 {
            if errno == EEXIST { return false }
            throw .cannotCreate(lockFile: path, reason: String(cString: strerror(errno)))
        }
        var fields: [(String, JSONValue)] = [
            ("host", .string(holder.host)), ("pid", .number(Double(holder.pid))),
            ("started", .string(holder.started)), ("token", .string(holder.token)),
        ]
        if let job = holder.slurmJob {
            fields += [("slurm_job", .string(job)), ("slurm_restart", .number(Double(holder.slurmRestart)))]
        }
        let record = JSONValue.object(fields).rendered() + "\n"
        let bytes = Array(record.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress!, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == bytes.count, synced else {
            let reason = String(cString: strerror(errno))
            unlink(path)
            throw .cannotCreate(lockFile: path, reason: "writing the holder record: \(reason)")
        }
        return true
    }

    /// The lock file's content. Opened without blocking so a FIFO in its place cannot hang us.
    static func read(_ path: String) throws(RunDirectoryLockError) -> State {
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return .missing }
            throw .cannotRead(lockFile: path, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw .cannotRead(lockFile: path, reason: "not a regular file")
        }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = bytes.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress!, $0.count) }
        guard count > 0, let json = try? JSONValue.parse(bytes: Array(bytes.prefix(count))),
              let host = json["host"]?.stringValue, let pid = json["pid"]?.intValue,
              let started = json["started"]?.stringValue, let token = json["token"]?.stringValue,
              let pid32 = Int32(exactly: pid)
        else { return .incomplete }
        return .holder(.init(host: host, pid: pid32, started: started, token: token, slurmJob: json["slurm_job"]?.stringValue,
                             slurmRestart: json["slurm_restart"]?.intValue ?? 0))
    }

    /// Why the lock in `state` may be taken over by `taker`, or nil while its holder may be alive.
    static func staleness(of state: State, path: String, staleAfter: Double, for taker: RunDirectoryLock.Holder) -> String? {
        let age = age(path) ?? 0
        switch state {
        case .missing:
            return "removed"
        case .incomplete:
            return age > staleAfter ? "an unfinished lock file untouched for \(Int(age)) s" : nil
        case let .holder(holder):
            if let job = holder.slurmJob, job == taker.slurmJob, taker.slurmRestart > holder.slurmRestart {
                return "left by run \(holder.slurmRestart) of Slurm job \(job), which was requeued"
            }
            if holder.host == hostName() {
                return kill(holder.pid, 0) != 0 && errno == ESRCH ? "process \(holder.pid) on this host is gone" : nil
            }
            return age > staleAfter ? "not refreshed for \(Int(age)) s (limit \(Int(staleAfter)) s)" : nil
        }
    }

    /// Removes the stale lock at `path` if it still is the one that was judged stale (`expected`).
    /// Only the process that creates `<lock>.break` may remove it; a breaker left by a dead process
    /// is removed once older than `staleAfter`.
    static func breakStale(_ path: String, expected: State, reason: String, staleAfter: Double,
                           for taker: RunDirectoryLock.Holder) throws(RunDirectoryLockError) {
        if expected == .missing { return }
        let breaker = path + ".break"
        let descriptor = open(breaker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if descriptor < 0 {
            guard errno == EEXIST else { throw .cannotCreate(lockFile: breaker, reason: String(cString: strerror(errno))) }
            if let age = age(breaker), age > staleAfter { unlink(breaker) } else { usleep(20_000) }
            return
        }
        close(descriptor)
        defer { unlink(breaker) }
        let current = try read(path)
        // Still the same stale lock (a fresh one has a new token, an unfinished one may have been completed).
        guard current == expected, staleness(of: current, path: path, staleAfter: staleAfter, for: taker) != nil else { return }
        if unlink(path) != 0 && errno != ENOENT {
            throw .cannotCreate(lockFile: path, reason: "removing the stale lock (\(reason)): \(String(cString: strerror(errno)))")
        }
    }

    /// Seconds since `path` was last modified, by this host's clock; nil when it does not exist.
    static func age(_ path: String) -> Double? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        let modified = Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9
        return Date().timeIntervalSince1970 - modified
    }

    /// This machine's host name.
    static func hostName() -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let status = buffer.withUnsafeMutableBufferPointer { gethostname($0.baseAddress!, $0.count - 1) }
        guard status == 0 else { return "unknown-host" }
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// The current time, UTC, ISO 8601 with seconds.
    static func now() -> String {
        ISO8601DateFormatter().string(from: Date())
    }
}
