/// What went wrong with a study journal, its lock or a study operation, worded for the user.
public enum StudyError: Error, CustomStringConvertible, Sendable {
    /// A system call on `path` failed.
    case io(path: String, reason: String)
    /// The file exists but is not an Optuna journal at all.
    case notAJournal(path: String, reason: String)
    /// A complete line that is not JSON, followed by more lines (Optuna cannot read the file either).
    case corruptLine(path: String, line: Int, reason: String)
    /// A record Optuna's reader would also stop at: an unknown op code or a missing or mistyped field.
    case invalidRecord(path: String, line: Int, reason: String)
    /// The file holds no study of that name, or several studies and no name was given.
    case noStudy(path: String, reason: String)
    /// `create` found a study already in the file.
    case studyExists(path: String, name: String)
    /// The study lacks a setting fairtune writes at creation (it was not made by fairtune).
    case missingSetting(path: String, key: String, expected: String)
    /// An operation on a trial that is no longer RUNNING (another worker failed it as stale, or it finished).
    case trialNotRunning(number: Int, state: TrialState)
    /// A caller's argument that cannot be honoured.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .io(path, reason): return "\(path): \(reason)"
        case let .notAJournal(path, reason): return "\(path) is not an Optuna study journal: \(reason)"
        case let .corruptLine(path, line, reason):
            return "\(path), line \(line): not a JSON record (\(reason)); the journal is damaged there"
        case let .invalidRecord(path, line, reason): return "\(path), line \(line): \(reason)"
        case let .noStudy(path, reason): return "\(path): \(reason)"
        case let .studyExists(path, name):
            return "\(path) already holds study \"\(name)\"; choose another file or replace it (--force)"
        case let .missingSetting(path, key, expected):
            return "\(path): the study has no attribute \(key) (expected \(expected)); was it created by fairtune study create?"
        case let .trialNotRunning(number, state):
            return "trial \(number) is \(state) and no longer RUNNING (another worker may have failed it as stale)"
        case let .invalidArgument(message): return message
        }
    }
}

extension TrialState: CustomStringConvertible {
    /// Optuna's name of the state (RUNNING, COMPLETE, PRUNED, FAIL, WAITING).
    public var description: String {
        switch self {
        case .running: return "RUNNING"
        case .complete: return "COMPLETE"
        case .pruned: return "PRUNED"
        case .fail: return "FAIL"
        case .waiting: return "WAITING"
        }
    }
}
