import JSON

/// A parameter's distribution, as Optuna records it in the journal (a JSON string inside JSON).
///
/// Values are handled in Optuna's *internal* representation: the number itself for ints and
/// floats, the index into `choices` for categoricals.
public enum Distribution: Sendable, Equatable {
    /// Integers in `low...high` on a grid of `step` (log: log-uniform; then step is 1).
    case int(low: Int, high: Int, step: Int, log: Bool)
    /// Reals in `low...high`, optionally on a grid of `step` (log: log-uniform; no step).
    case float(low: Double, high: Double, step: Double?, log: Bool)
    /// One of `choices` (strings here: fairtune's categoricals are names).
    case categorical(choices: [String])

    /// Optuna's canonical JSON text, e.g.
    /// `{"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": 1}}`.
    public var journalText: String {
        let value: JSONValue
        switch self {
        case let .int(low, high, step, log):
            value = .object([("name", .string("IntDistribution")), ("attributes", .object([
                ("log", .bool(log)), ("step", .number(Double(step))), ("low", .number(Double(low))), ("high", .number(Double(high))),
            ]))])
        case let .float(low, high, step, log):
            value = .object([("name", .string("FloatDistribution")), ("attributes", .object([
                ("step", step.map { .number($0) } ?? .null), ("low", .number(low)), ("high", .number(high)), ("log", .bool(log)),
            ]))])
        case let .categorical(choices):
            value = .object([("name", .string("CategoricalDistribution")), ("attributes", .object([
                ("choices", .array(choices.map { .string($0) })),
            ]))])
        }
        return value.compactRendered()
    }

    /// Whether `value` (internal representation) is a value of this distribution (a grid point inside the range, or a
    /// choice index).
    public func contains(_ value: Double) -> Bool {
        switch self {
        case let .int(low, high, step, _):
            guard value == value.rounded(), value >= Double(low), value <= Double(high) else { return false }
            return (Int(value) - low) % step == 0
        case let .float(low, high, _, _):
            return value >= low && value <= high
        case let .categorical(choices):
            return value == value.rounded() && value >= 0 && Int(value) < choices.count
        }
    }
}

/// Optuna's `StudyDirection` (the integers are the journal's).
public enum StudyDirection: Int, Sendable {
    case notSet = 0, minimize = 1, maximize = 2
}

/// Optuna's `TrialState` (the integers are the journal's).
public enum TrialState: Int, Sendable {
    case running = 0, complete = 1, pruned = 2, fail = 3, waiting = 4

    /// COMPLETE, PRUNED and FAIL: a finished trial never changes again.
    public var isFinished: Bool { self == .complete || self == .pruned || self == .fail }
}
