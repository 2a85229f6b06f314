#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import JSON

/// What fairtune fixes when it creates a study, stored in the study's attributes so every worker reads the same.
public struct StudySettings: Sendable {
    /// The number of finished (COMPLETE + PRUNED) trials wanted; user attr `fairtune:n_trials`.
    public var finishedTrialsWanted: Int
    /// Seconds between a running trial's heartbeats; user attr `fairtune:heartbeat_interval`.
    public var heartbeatInterval: Double
    /// Seconds without a heartbeat after which a RUNNING trial is stale; user attr `fairtune:grace_period`.
    public var gracePeriod: Double
    /// The parameters every trial samples, in order; system attr `fairtune:search_space`.
    public var searchSpace: [(name: String, distribution: Distribution)]

    public init(finishedTrialsWanted: Int, heartbeatInterval: Double, gracePeriod: Double,
                searchSpace: [(name: String, distribution: Distribution)]) {
        self.finishedTrialsWanted = finishedTrialsWanted
        self.heartbeatInterval = heartbeatInterval
        self.gracePeriod = gracePeriod
        self.searchSpace = searchSpace
    }
}

/// One study in a journal file, as a worker uses it: every write happens under the journal's lock after a refresh,
/// so each decision sees every record appended before it.
public final class Study {
    public enum Key {
        public static let finishedTrialsWanted = "fairtune:n_trials"
        public static let heartbeatInterval = "fairtune:heartbeat_interval"
        public static let gracePeriod = "fairtune:grace_period"
        public static let searchSpace = "fairtune:search_space"
        /// Trial system attrs: the worker that runs the trial, and its last heartbeat (ISO-8601 UTC).
        public static let worker = "fairtune:worker"
        public static let heartbeat = "fairtune:heartbeat"
    }

    public private(set) var journal: StudyJournal
    public let studyID: Int
    /// The stable id of this worker (e.g. a Slurm array task), recorded on the trials it runs.
    public let workerID: String
    /// The journal's `worker_id` of this process's records: the worker id, the process id and random bits.
    public let recordWorkerID: String
    /// Total seconds spent waiting for the journal's lock, and how many times it was taken.
    public private(set) var lockWaitSeconds = 0.0
    public private(set) var lockAcquisitions = 0

    /// Opens study `name` of the journal at `path` (nil: the file's only study).
    public init(path: String, name: String? = nil, workerID: String, lock: JournalLock? = nil) throws(StudyError) {
        var journal = StudyJournal(path: path, lock: lock ?? JournalLock(journalPath: path))
        try journal.refresh()
        let studies = journal.replay.studies
        let chosen: StudyRecord
        if let name {
            guard let s = studies.first(where: { $0.name == name }) else {
                throw .noStudy(path: path, reason: "no study named \"\(name)\" (found: \(studies.map(\.name).joined(separator: ", ")))")
            }
            chosen = s
        } else {
            guard studies.count == 1 else {
                throw .noStudy(path: path, reason: studies.isEmpty ? "the journal holds no study"
                    : "the journal holds \(studies.count) studies; name one (\(studies.map(\.name).joined(separator: ", ")))")
            }
            chosen = studies[0]
        }
        self.journal = journal
        self.studyID = chosen.id
        self.workerID = workerID
        var random = SystemRandomNumberGenerator()
        self.recordWorkerID = "\(workerID)-\(getpid())-\(String(random.next(), radix: 16))"
    }

    /// Writes a new study into the journal at `path`: CREATE_STUDY with `directions`, then the settings and
    /// `userAttributes` (fairtune's training settings) as study user attrs and the search space as a system attr.
    /// - Throws: `.studyExists` if the file already holds a study and `replace` is false.
    @discardableResult
    public static func create(path: String, name: String, directions: [StudyDirection], settings: StudySettings,
                              userAttributes: [(key: String, value: JSONValue)] = [], replace: Bool = false,
                              workerID: String, lock: JournalLock? = nil) throws(StudyError) -> Study {
        try validate(directions: directions, settings: settings)
        let lock = lock ?? JournalLock(journalPath: path)
        let worker = "\(workerID)-\(getpid())-create"
        let records = creationRecords(worker, name: name, directions: directions, settings: settings, userAttributes: userAttributes)
        _ = try lock.withLock { () throws(StudyError) -> Void in
            if access(path, F_OK) == 0 {
                var existing = StudyJournal(path: path, lock: lock)
                let holdsStudy: Bool
                // Any record (even of a deleted study) counts: the new study must get study_id 0.
                do { try existing.refresh(); holdsStudy = existing.linesRead > 0 } catch { holdsStudy = true }
                if holdsStudy {
                    guard replace else { throw .studyExists(path: path, name: existing.replay.studies.first?.name ?? "?") }
                    guard unlink(path) == 0 else { throw .io(path: path, reason: "cannot remove the old study: \(errorText())") }
                }
            }
            try StudyJournal(path: path, lock: lock).append(records)
        }
        return try Study(path: path, name: name, workerID: workerID, lock: lock)
    }

    private static func validate(directions: [StudyDirection], settings: StudySettings) throws(StudyError) {
        guard (1...2).contains(directions.count), !directions.contains(.notSet) else {
            throw .invalidArgument("a study needs one or two objectives, each minimize or maximize")
        }
        guard settings.finishedTrialsWanted >= 1 else { throw .invalidArgument("the number of trials must be at least 1") }
        guard settings.heartbeatInterval > 0, settings.gracePeriod > 0 else {
            throw .invalidArgument("the heartbeat interval and the grace period must be positive seconds")
        }
        guard !settings.searchSpace.isEmpty, Set(settings.searchSpace.map(\.name)).count == settings.searchSpace.count else {
            throw .invalidArgument("the search space needs at least one parameter and unique names")
        }
    }

    private static func creationRecords(_ worker: String, name: String, directions: [StudyDirection], settings: StudySettings,
                                        userAttributes: [(key: String, value: JSONValue)]) -> [JSONValue] {
        // The study is the file's first (study_id 0): create refuses a file that already holds one.
        let space = JSONValue.array(settings.searchSpace.map { .array([.string($0.name), .string($0.distribution.journalText)]) })
        let attributes: [(key: String, value: JSONValue)] = [
            (Key.finishedTrialsWanted, .number(Double(settings.finishedTrialsWanted))),
            (Key.heartbeatInterval, .number(settings.heartbeatInterval)),
            (Key.gracePeriod, .number(settings.gracePeriod)),
        ] + userAttributes
        return [JournalRecords.createStudy(worker, name: name, directions: directions)]
            + attributes.map { JournalRecords.studyAttribute(worker, studyID: 0, key: $0.key, value: $0.value, system: false) }
            + [JournalRecords.studyAttribute(worker, studyID: 0, key: Key.searchSpace, value: space, system: true)]
    }

    // MARK: - Reading

    /// Reads what other workers appended since the last refresh.
    public func refresh() throws(StudyError) { try journal.refresh() }

    public var record: StudyRecord {
        journal.replay.study(id: studyID) ?? StudyRecord(id: studyID, name: "", directions: [], userAttributes: [],
                                                          systemAttributes: [], trialIDs: [])
    }
    public var name: String { record.name }
    public var directions: [StudyDirection] { record.directions }
    public var userAttributes: [(key: String, value: JSONValue)] { record.userAttributes }
    public var systemAttributes: [(key: String, value: JSONValue)] { record.systemAttributes }
    /// The study's trials in number order, as of the last refresh.
    public var trials: [Trial] { journal.replay.trials(ofStudy: studyID) }

    /// The settings `create` stored.
    /// - Throws: `.missingSetting` for a study fairtune did not create.
    public func settings() throws(StudyError) -> StudySettings {
        let r = record
        func number(_ key: String, _ expected: String) throws(StudyError) -> Double {
            guard let x = r.userAttribute(key)?.doubleValue else { throw .missingSetting(path: journal.path, key: key, expected: expected) }
            return x
        }
        let wanted = try number(Key.finishedTrialsWanted, "the number of finished trials wanted")
        var space: [(name: String, distribution: Distribution)] = []
        for item in r.systemAttribute(Key.searchSpace)?.arrayValue ?? [] {
            guard let pair = item.arrayValue, pair.count == 2, let name = pair[0].stringValue, let text = pair[1].stringValue else {
                throw .missingSetting(path: journal.path, key: Key.searchSpace, expected: "a list of [name, distribution] pairs")
            }
            space.append((name: name, distribution: try Distribution(journalText: text)))
        }
        guard !space.isEmpty else { throw .missingSetting(path: journal.path, key: Key.searchSpace, expected: "the search space") }
        return StudySettings(finishedTrialsWanted: Int(wanted), heartbeatInterval: try number(Key.heartbeatInterval, "seconds"),
                             gracePeriod: try number(Key.gracePeriod, "seconds"), searchSpace: space)
    }

    /// Runs `body` holding the journal's lock, after reading every record appended so far.
    func locked<T>(_ body: () throws(StudyError) -> T) throws(StudyError) -> T {
        let waited = try journal.lock.acquire()
        lockWaitSeconds += waited
        lockAcquisitions += 1
        defer { journal.lock.release() }
        try journal.refresh()
        return try body()
    }

    /// Appends `records` (the caller holds the lock) and reads them back.
    func appendAndRefresh(_ records: [JSONValue]) throws(StudyError) {
        try journal.append(records)
        try journal.refresh()
    }
}
