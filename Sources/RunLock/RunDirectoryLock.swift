import Dispatch
import Foundation
import JSON

/// One writer per directory: a lock file created with `O_CREAT | O_EXCL` holding the holder's host,
/// pid, start time and a random token, refreshed (its modification time) while held.
///
/// `flock` is not honoured on every parallel file system; exclusive creation is. A lock is taken
/// over only when provably stale: its holder ran on this host and that pid is gone, or it ran on
/// another host and has not been refreshed for `staleAfter` seconds, or it ran in an earlier run of
/// the same Slurm job (requeued: Slurm ended every process of that run first). Released by
/// `release()` or when the value is destroyed.
public final class RunDirectoryLock: @unchecked Sendable {
    /// The lock file's name inside the directory.
    public static let fileName = "fairtune.lock"

    /// Who holds (or held) a lock, as recorded in the lock file.
    public struct Holder: Sendable, Equatable {
        /// The holder's host name.
        public var host: String
        /// The holder's process id on `host`.
        public var pid: Int32
        /// When the holder took the lock (UTC, ISO 8601).
        public var started: String
        /// Random per lock, so a holder recognises its own file.
        public var token: String
        /// The Slurm job (`cluster/job id`) the holder ran in, if any.
        public var slurmJob: String?
        /// How often that job had been requeued (`SLURM_RESTART_COUNT`, 0 when unset).
        public var slurmRestart: Int = 0
    }

    /// The lock file's path.
    public let path: String
    /// What this process wrote into the lock file.
    public let holder: Holder
    private let lock = NSLock()
    private var timer: DispatchSourceTimer?
    private var released = false
    private var loss: RunDirectoryLockError?

    /// Takes the lock of `directory` (which must exist), or throws naming the holder.
    /// - Parameters:
    ///   - staleAfter: seconds without a refresh after which another host's lock counts as stale.
    ///   - refreshEvery: seconds between refreshes of the lock file's modification time.
    /// - Throws: `RunDirectoryLockError.held` while another live process holds it;
    ///   `.cannotCreate`/`.cannotRead` for file system failures.
    ///   - environment: where the Slurm job id and restart count are read (a lock left by an earlier
    ///     run of the same requeued job is stale wherever it ran).
    public init(directory: String, staleAfter: Double = 600, refreshEvery: Double = 30,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws(RunDirectoryLockError) {
        path = (directory as NSString).appendingPathComponent(Self.fileName)
        holder = Holder(host: LockFile.hostName(), pid: getpid(), started: LockFile.now(),
                        token: String(UInt64.random(in: 0...UInt64.max), radix: 16),
                        slurmJob: environment["SLURM_JOB_ID"].map { (environment["SLURM_CLUSTER_NAME"] ?? "") + "/" + $0 },
                        slurmRestart: environment["SLURM_RESTART_COUNT"].flatMap { Int($0) } ?? 0)
        try acquire(staleAfter: staleAfter)
        startRefreshing(every: refreshEvery)
    }

    deinit { release() }

    /// Stops refreshing and removes the lock file if it is still this holder's. Idempotent.
    public func release() {
        lock.lock()
        defer { lock.unlock() }
        guard !released else { return }
        released = true
        timer?.cancel()
        timer = nil
        if case let .holder(current)? = try? LockFile.read(path), current.token == holder.token { unlink(path) }
    }

    /// Throws unless this process still holds the lock (another process may have taken it over if
    /// this one stopped refreshing for longer than the stale interval, e.g. a suspended job).
    public func requireHeld() throws(RunDirectoryLockError) {
        lock.lock()
        let loss = self.loss
        lock.unlock()
        if let loss { throw loss }
        if case let .holder(current)? = try? LockFile.read(path), current.token == holder.token { return }
        throw .lost(lockFile: path, holder: nil)
    }

    // MARK: - Acquiring

    private func acquire(staleAfter: Double) throws(RunDirectoryLockError) {
        // A few rounds: each either creates the lock, finds it held, or removes one stale lock.
        for _ in 0..<8 {
            if try LockFile.create(path, holder: holder) { return }
            let state = try LockFile.read(path)
            guard let staleness = LockFile.staleness(of: state, path: path, staleAfter: staleAfter, for: holder) else {
                if case let .holder(current) = state {
                    throw .held(lockFile: path, holder: current, secondsSinceRefresh: LockFile.age(path) ?? 0)
                }
                throw .held(lockFile: path, holder: nil, secondsSinceRefresh: LockFile.age(path) ?? 0)
            }
            try LockFile.breakStale(path, expected: state, reason: staleness, staleAfter: staleAfter, for: holder)
        }
        throw .cannotCreate(lockFile: path, reason: "the lock kept changing hands; try again")
    }

    // MARK: - Refreshing

    private func startRefreshing(every seconds: Double) {
        let source = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        source.schedule(deadline: .now() + seconds, repeating: seconds, leeway: .milliseconds(100))
        source.setEventHandler { [weak self] in self?.refresh() }
        timer = source
        source.resume()
    }

    private func refresh() {
        lock.lock()
        defer { lock.unlock() }
        guard !released, loss == nil else { return }
        switch try? LockFile.read(path) {
        case let .holder(current)? where current.token == holder.token:
            utimensat(AT_FDCWD, path, nil, 0)
        case let .holder(current)?:
            loss = .lost(lockFile: path, holder: current)
        default:
            // Removed by hand or unreadable: another writer may start; record the loss.
            loss = .lost(lockFile: path, holder: nil)
        }
    }
}

/// Why a run directory's lock could not be taken or kept; each names the lock file and says what to do.
public enum RunDirectoryLockError: Error, Equatable, CustomStringConvertible {
    /// Another live process holds the lock (`holder` nil while its file is still being written).
    case held(lockFile: String, holder: RunDirectoryLock.Holder?, secondsSinceRefresh: Double)
    /// The lock file could not be created or removed.
    case cannotCreate(lockFile: String, reason: String)
    /// The lock file exists but could not be read.
    case cannotRead(lockFile: String, reason: String)
    /// This process's lock was removed or taken over (it was not refreshed in time).
    case lost(lockFile: String, holder: RunDirectoryLock.Holder?)

    public var description: String {
        switch self {
        case let .held(lockFile, holder?, seconds):
            return "\(lockFile): the directory is in use by process \(holder.pid) on host \(holder.host) "
                + "(started \(holder.started), refreshed \(Int(seconds)) s ago); wait for it to finish, "
                + "stop it, or choose another output directory. If that process is gone, delete \(lockFile)."
        case let .held(lockFile, nil, _):
            return "\(lockFile): another process is taking the directory's lock right now; choose another output "
                + "directory or try again. If no other process uses it, delete \(lockFile)."
        case let .cannotCreate(lockFile, reason):
            return "\(lockFile): cannot create the directory's lock (\(reason))"
        case let .cannotRead(lockFile, reason):
            return "\(lockFile): cannot read the directory's lock (\(reason)); if no process uses the directory, delete it"
        case let .lost(lockFile, holder?):
            return "\(lockFile): this process's lock was taken over by process \(holder.pid) on host \(holder.host) "
                + "(started \(holder.started)); stopping so two writers never mix files"
        case let .lost(lockFile, nil):
            return "\(lockFile): this process's lock was removed; stopping so two writers never mix files"
        }
    }
}
