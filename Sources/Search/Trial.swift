import JSON

/// One trial of a study as the journal describes it after replay (Optuna's `FrozenTrial`).
public struct Trial: Sendable {
    /// The trial's index within its study (Optuna's `number`).
    public var number: Int
    /// The trial's index across the whole journal (Optuna's `trial_id`, which records refer to).
    public var id: Int
    public var state: TrialState
    /// One value per objective once COMPLETE (PRUNED: the last intermediate value, as Optuna writes).
    public var values: [Double]?
    /// Parameters in internal representation, with their distributions, in the order set.
    public var params: [(name: String, value: Double)]
    public var distributions: [String: Distribution]
    /// Objective values reported after each step (epoch), by step.
    public var intermediateValues: [Int: Double]
    public var userAttributes: [(key: String, value: JSONValue)]
    public var systemAttributes: [(key: String, value: JSONValue)]
    /// ISO-8601 texts as written (nil for a WAITING trial's start).
    public var startText: String?
    public var completeText: String?
    /// The worker_id of the record that created the trial.
    public var creatorWorkerID: String

    public init(number: Int, id: Int, state: TrialState, creatorWorkerID: String) {
        self.number = number
        self.id = id
        self.state = state
        self.values = nil
        self.params = []
        self.distributions = [:]
        self.intermediateValues = [:]
        self.userAttributes = []
        self.systemAttributes = []
        self.creatorWorkerID = creatorWorkerID
    }

    /// The internal value of parameter `name`.
    public func param(_ name: String) -> Double? { params.first { $0.name == name }?.value }

    public func userAttribute(_ key: String) -> JSONValue? { userAttributes.last { $0.key == key }?.value }

    public func systemAttribute(_ key: String) -> JSONValue? { systemAttributes.last { $0.key == key }?.value }

    /// The intermediate value of the highest step, if any.
    public var lastIntermediate: (step: Int, value: Double)? {
        intermediateValues.max { $0.key < $1.key }.map { (step: $0.key, value: $0.value) }
    }
}
