import JSON

/// One study as the journal describes it after replay (Optuna's `FrozenStudy`).
public struct StudyRecord: Sendable {
    /// The index of its CREATE_STUDY among those that created a study (Optuna's `study_id`).
    public var id: Int
    public var name: String
    public var directions: [StudyDirection]
    public var userAttributes: [(key: String, value: JSONValue)]
    public var systemAttributes: [(key: String, value: JSONValue)]
    /// Its trials' ids in number order.
    public var trialIDs: [Int]

    public func userAttribute(_ key: String) -> JSONValue? { userAttributes.first { $0.key == key }?.value }
    public func systemAttribute(_ key: String) -> JSONValue? { systemAttributes.first { $0.key == key }?.value }
}

/// Why a record stops replay (Optuna's reader stops there too).
struct RecordProblem: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// The studies and trials after applying records in file order with Optuna 5's rules
/// (`JournalStorageReplayResult`): ids by position, first RUNNING claim wins, finished trials immutable,
/// invalid updates skipped (Optuna raises only in the process that wrote them; every other reader skips).
public struct JournalReplay: Sendable {
    /// Live studies in id order (a deleted study disappears; its id is not reused).
    public private(set) var studies: [StudyRecord] = []
    /// Every trial ever created, indexed by trial id (trials of deleted studies stay, as in Optuna).
    public private(set) var trials: [Trial] = []
    private var studyOfTrial: [Int] = []
    /// Per study id, the distribution each parameter name was first recorded with (what Optuna's compatibility
    /// check compares against; kept here so a SET_TRIAL_PARAM costs no scan of earlier trials).
    private var firstDistributions: [Int: [String: Distribution]] = [:]
    private var nextStudyID = 0

    public init() {}

    /// The live study with id `id`.
    public func study(id: Int) -> StudyRecord? { studies.first { $0.id == id } }

    /// The trials of study `id` in number order.
    public func trials(ofStudy id: Int) -> [Trial] { study(id: id)?.trialIDs.map { trials[$0] } ?? [] }

    mutating func apply(_ record: JSONValue) throws(RecordProblem) {
        guard case .object = record else { throw RecordProblem("a record must be a JSON object") }
        let op = try record.requiredInt("op_code")
        switch op {
        case 0: try createStudy(record)
        case 1: studies.removeAll { $0.id == (record["study_id"]?.intValue ?? -1) }
        case 2, 3: try setStudyAttribute(record, system: op == 3)
        case 4: try createTrial(record)
        case 5: try setParam(record)
        case 6: try setStateValues(record)
        case 7: try setIntermediate(record)
        case 8, 9: try setTrialAttribute(record, system: op == 9)
        case 10: return  // DISCARD_TRIALS: Python Optuna 5 skips it ("only supported by Rustuna").
        default: throw RecordProblem("unknown op_code \(op) (Optuna 5 writes 0 to 10)")
        }
    }

    private mutating func createStudy(_ record: JSONValue) throws(RecordProblem) {
        let name = try record.requiredString("study_name")
        guard let items = record["directions"]?.arrayValue else { throw RecordProblem("CREATE_STUDY needs a list \"directions\"") }
        var directions: [StudyDirection] = []
        for item in items {
            guard let d = item.intValue.flatMap(StudyDirection.init(rawValue:)) else {
                throw RecordProblem("a direction must be 0, 1 or 2, found \(item.compactRendered())")
            }
            directions.append(d)
        }
        guard !studies.contains(where: { $0.name == name }) else { return }  // a duplicate name is ignored
        studies.append(StudyRecord(id: nextStudyID, name: name, directions: directions,
                                   userAttributes: [], systemAttributes: [], trialIDs: []))
        nextStudyID += 1
    }

    private mutating func setStudyAttribute(_ record: JSONValue, system: Bool) throws(RecordProblem) {
        let id = try record.requiredInt("study_id")
        guard let index = studies.firstIndex(where: { $0.id == id }) else { return }
        let (key, value) = try record.singleKey(system ? "system_attr" : "user_attr")
        if system { upsert(&studies[index].systemAttributes, key, value) } else { upsert(&studies[index].userAttributes, key, value) }
    }

    private mutating func createTrial(_ record: JSONValue) throws(RecordProblem) {
        let studyID = try record.requiredInt("study_id")
        guard let index = studies.firstIndex(where: { $0.id == studyID }) else { return }
        let start = try record.required("datetime_start")
        var trial = Trial(number: studies[index].trialIDs.count, id: trials.count,
                          state: try record.state("state", default: .running),
                          creatorWorkerID: record["worker_id"]?.stringValue ?? "")
        trial.startText = start.stringValue
        trial.completeText = record["datetime_complete"]?.stringValue
        trial.distributions = try record.distributions()
        for (name, value) in record["params"]?.objectValue ?? [] {
            guard let x = value.doubleValue else { throw RecordProblem("param \"\(name)\" must be a number") }
            guard trial.distributions[name] != nil else { throw RecordProblem("param \"\(name)\" has no distribution") }
            trial.params.append((name: name, value: x))
        }
        trial.values = try record.values()
        trial.userAttributes = (record["user_attrs"]?.objectValue ?? []).map { (key: $0.0, value: $0.1) }
        trial.systemAttributes = (record["system_attrs"]?.objectValue ?? []).map { (key: $0.0, value: $0.1) }
        for (step, value) in record["intermediate_values"]?.objectValue ?? [] {
            guard let s = Int(step), let x = value.doubleValue else {
                throw RecordProblem("intermediate value \"\(step)\": \(value.compactRendered()) is not step: number")
            }
            trial.intermediateValues[s] = x
        }
        for (name, distribution) in trial.distributions where firstDistributions[studyID]?[name] == nil {
            firstDistributions[studyID, default: [:]][name] = distribution
        }
        trials.append(trial)
        studyOfTrial.append(studyID)
        studies[index].trialIDs.append(trial.id)
    }

    /// The id of a trial that may still change, or nil (unknown or finished: Optuna skips the record).
    private func updatableTrial(_ record: JSONValue) throws(RecordProblem) -> Int? {
        let id = try record.requiredInt("trial_id")
        guard trials.indices.contains(id), !trials[id].state.isFinished else { return nil }
        return id
    }

    private mutating func setParam(_ record: JSONValue) throws(RecordProblem) {
        guard let id = try updatableTrial(record) else { return }
        let name = try record.requiredString("param_name")
        guard let value = record["param_value_internal"]?.doubleValue else { throw RecordProblem("SET_TRIAL_PARAM needs a number \"param_value_internal\"") }
        let distribution = try parseDistribution(try record.requiredString("distribution"))
        // The parameter's first distribution in the study fixes its kind.
        let study = studyOfTrial[id]
        if let first = firstDistributions[study]?[name] {
            guard first.isCompatible(with: distribution) else { return }
        } else {
            firstDistributions[study, default: [:]][name] = distribution
        }
        if let i = trials[id].params.firstIndex(where: { $0.name == name }) {
            trials[id].params[i].value = value
        } else {
            trials[id].params.append((name: name, value: value))
        }
        trials[id].distributions[name] = distribution
    }

    private mutating func setStateValues(_ record: JSONValue) throws(RecordProblem) {
        guard let id = try updatableTrial(record) else { return }
        let state = try record.state("state", default: nil)
        _ = try record.required("values")
        // A second claim of a popped WAITING trial: the first RUNNING record wins.
        if state == .running && trials[id].state == .running { return }
        if state == .running { trials[id].startText = try record.requiredString("datetime_start") }
        if state.isFinished { trials[id].completeText = try record.requiredString("datetime_complete") }
        trials[id].state = state
        if let values = try record.values() { trials[id].values = values }
    }

    private mutating func setIntermediate(_ record: JSONValue) throws(RecordProblem) {
        guard let id = try updatableTrial(record) else { return }
        let step = try record.requiredInt("step")
        guard let value = record["intermediate_value"]?.doubleValue else { throw RecordProblem("SET_TRIAL_INTERMEDIATE_VALUE needs a number \"intermediate_value\"") }
        trials[id].intermediateValues[step] = value
    }

    private mutating func setTrialAttribute(_ record: JSONValue, system: Bool) throws(RecordProblem) {
        guard let id = try updatableTrial(record) else { return }
        let (key, value) = try record.singleKey(system ? "system_attr" : "user_attr")
        if system { upsert(&trials[id].systemAttributes, key, value) } else { upsert(&trials[id].userAttributes, key, value) }
    }
}

/// Sets `key` in place if present (Python's dict update keeps the position), else appends it.
func upsert(_ pairs: inout [(key: String, value: JSONValue)], _ key: String, _ value: JSONValue) {
    if let i = pairs.firstIndex(where: { $0.key == key }) { pairs[i].value = value } else { pairs.append((key: key, value: value)) }
}

func parseDistribution(_ text: String) throws(RecordProblem) -> Distribution {
    do { return try Distribution(journalText: text) } catch { throw RecordProblem(error.description) }
}

// MARK: - Reading record fields

extension JSONValue {
    func required(_ key: String) throws(RecordProblem) -> JSONValue {
        guard let value = self[key] else { throw RecordProblem("the record has no \"\(key)\"") }
        return value
    }

    func requiredInt(_ key: String) throws(RecordProblem) -> Int {
        guard let value = try required(key).intValue else { throw RecordProblem("\"\(key)\" must be an integer") }
        return value
    }

    func requiredString(_ key: String) throws(RecordProblem) -> String {
        guard let value = try required(key).stringValue else { throw RecordProblem("\"\(key)\" must be a string") }
        return value
    }

    func state(_ key: String, default fallback: TrialState?) throws(RecordProblem) -> TrialState {
        if self[key] == nil, let fallback { return fallback }
        guard let state = try requiredInt(key) as Int?, let s = TrialState(rawValue: state) else {
            throw RecordProblem("\"\(key)\" must be a trial state 0 to 4")
        }
        return s
    }

    /// An attribute object with exactly one key (Optuna asserts this in every reader).
    func singleKey(_ key: String) throws(RecordProblem) -> (String, JSONValue) {
        guard let pairs = try required(key).objectValue, pairs.count == 1 else {
            throw RecordProblem("\"\(key)\" must be an object with exactly one key")
        }
        return pairs[0]
    }

    /// `values` (a list) or else `value` (a number) of a CREATE_TRIAL or SET_TRIAL_STATE_VALUES record.
    func values() throws(RecordProblem) -> [Double]? {
        if let items = self["values"]?.arrayValue {
            var values: [Double] = []
            for item in items {
                guard let x = item.doubleValue else { throw RecordProblem("\"values\" must hold numbers") }
                values.append(x)
            }
            return values
        }
        guard let value = self["values"], !value.isNull else { return self["value"]?.doubleValue.map { [$0] } }
        throw RecordProblem("\"values\" must be a list or null")
    }

    func distributions() throws(RecordProblem) -> [String: Distribution] {
        var out: [String: Distribution] = [:]
        for (name, value) in self["distributions"]?.objectValue ?? [] {
            guard let text = value.stringValue else { throw RecordProblem("the distribution of \"\(name)\" must be a JSON string") }
            out[name] = try parseDistribution(text)
        }
        return out
    }
}
