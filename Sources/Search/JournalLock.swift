#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Optuna's journal lock: the entry `<journal>.lock`, created atomically by whoever holds the lock.
///
/// Interoperates with Optuna's `JournalFileSymlinkLock` (the default) and `JournalFileOpenLock`: both styles
/// use the same path, and each fails to create the entry while the other's is there.
public struct JournalLock: Sendable {
    /// How the lock entry is created.
    public enum Kind: Sendable {
        /// `symlink(journal, lock)`, as Optuna's default `JournalFileSymlinkLock` (NFSv2 and later).
        case symlink
        /// `open(lock, O_CREAT|O_EXCL)`, as Optuna's `JournalFileOpenLock` (NFSv3 and later).
        case exclusiveFile
    }

    public let journalPath: String
    public let kind: Kind
    /// Seconds after which a lock whose mtime has not changed (as this waiter observes it) is broken;
    /// nil waits forever. Optuna 4.3+ defaults to 30.
    public let gracePeriod: Double?

    public var lockPath: String { journalPath + ".lock" }

    public init(journalPath: String, kind: Kind = .symlink, gracePeriod: Double? = 30) {
        self.journalPath = journalPath
        self.kind = kind
        self.gracePeriod = gracePeriod
    }

    /// Takes the lock, sleeping from 1 ms doubling to 1 s between tries, breaking a stale lock as Optuna does.
    /// - Returns: the seconds waited.
    public func acquire() throws(StudyError) -> Double {
        let start = JournalTime.monotonicSeconds()
        var sleepSeconds = 0.001
        var observedMtime: timespec? = nil
        var lastChange = start
        while true {
            if tryCreate() { return JournalTime.monotonicSeconds() - start }
            guard errno == EEXIST else { throw .io(path: lockPath, reason: "cannot create the lock: \(errorText())") }
            if let gracePeriod {
                var status = stat()
                // stat follows the symbolic link to the journal, as Optuna's waiter does; a link whose journal is
                // gone is judged by its own mtime. An entry gone since our try was released: try again at once.
                guard stat(lockPath, &status) == 0 || lstat(lockPath, &status) == 0 else { continue }
                let mtime = status.st_mtim
                if observedMtime.map({ $0.tv_sec != mtime.tv_sec || $0.tv_nsec != mtime.tv_nsec }) ?? true {
                    observedMtime = mtime
                    lastChange = JournalTime.monotonicSeconds()
                }
                if JournalTime.monotonicSeconds() - lastChange > gracePeriod {
                    // Optuna forcibly releases a lock unchanged for the grace period (its holder died).
                    if release() { sleepSeconds = 0.001 }
                    continue
                }
            }
            usleep(useconds_t(sleepSeconds * 1e6))
            sleepSeconds = min(sleepSeconds * 2, 1)
        }
    }

    /// Releases the lock: renames the entry to a unique name (so only one releaser wins), then unlinks it.
    /// - Returns: false when there was no lock to release.
    @discardableResult
    public func release() -> Bool {
        var random = SystemRandomNumberGenerator()
        let unique = lockPath + String(random.next(), radix: 16) + String(random.next(), radix: 16) + ".rename"
        guard rename(lockPath, unique) == 0 else { return false }
        unlink(unique)
        return true
    }

    /// Runs `body` holding the lock; returns its result and the seconds waited for the lock.
    public func withLock<T>(_ body: () throws(StudyError) -> T) throws(StudyError) -> (result: T, waited: Double) {
        let waited = try acquire()
        defer { release() }
        return (try body(), waited)
    }

    private func tryCreate() -> Bool {
        switch kind {
        case .symlink:
            // The target is the journal's own name: a link resolves relative to its folder, which is the journal's.
            let target = journalPath.split(separator: "/").last.map(String.init) ?? journalPath
            return symlink(target, lockPath) == 0
        case .exclusiveFile:
            let descriptor = open(lockPath, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { return false }
            close(descriptor)
            return true
        }
    }
}

/// The text of the current `errno`.
func errorText() -> String { String(cString: strerror(errno)) }
