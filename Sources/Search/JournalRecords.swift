import JSON

/// Builders of the records fairtune appends, field for field as Optuna 5 writes them (op_code, worker_id first).
enum JournalRecords {
    static func createStudy(_ worker: String, name: String, directions: [StudyDirection]) -> JSONValue {
        .object([("op_code", .number(0)), ("worker_id", .string(worker)), ("study_name", .string(name)),
                 ("directions", .array(directions.map { .number(Double($0.rawValue)) }))])
    }

    static func studyAttribute(_ worker: String, studyID: Int, key: String, value: JSONValue, system: Bool) -> JSONValue {
        .object([("op_code", .number(system ? 3 : 2)), ("worker_id", .string(worker)), ("study_id", .number(Double(studyID))),
                 (system ? "system_attr" : "user_attr", .object([(key, value)]))])
    }

    /// A trial in one record (Optuna's `create_new_trial` with a template): RUNNING with its params, or a WAITING retry.
    static func createTrial(_ worker: String, studyID: Int, state: TrialState, start: String?, params: [(name: String, value: Double)],
                            distributions: [String: Distribution], userAttributes: [(key: String, value: JSONValue)],
                            systemAttributes: [(key: String, value: JSONValue)]) -> JSONValue {
        .object([
            ("op_code", .number(4)), ("worker_id", .string(worker)), ("study_id", .number(Double(studyID))),
            ("datetime_start", start.map { .string($0) } ?? .null), ("state", .number(Double(state.rawValue))),
            ("value", .null), ("values", .null),
            ("distributions", .object(params.map { ($0.name, .string(distributions[$0.name]?.journalText ?? "")) })),
            ("params", .object(params.map { ($0.name, .number($0.value)) })),
            ("user_attrs", .object(userAttributes.map { ($0.key, $0.value) })),
            ("system_attrs", .object(systemAttributes.map { ($0.key, $0.value) })),
            ("intermediate_values", .object([])),
        ])
    }

    static func setParam(_ worker: String, trialID: Int, name: String, value: Double, distribution: Distribution) -> JSONValue {
        .object([("op_code", .number(5)), ("worker_id", .string(worker)), ("trial_id", .number(Double(trialID))),
                 ("param_name", .string(name)), ("param_value_internal", .number(value)),
                 ("distribution", .string(distribution.journalText))])
    }

    /// SET_TRIAL_STATE_VALUES with `datetime_start` for RUNNING and `datetime_complete` for a finished state.
    static func setState(_ worker: String, trialID: Int, state: TrialState, values: [Double]?, time: String) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("op_code", .number(6)), ("worker_id", .string(worker)), ("trial_id", .number(Double(trialID))),
            ("state", .number(Double(state.rawValue))), ("values", values.map { .array($0.map { .number($0) }) } ?? .null),
        ]
        if state == .running { fields.append(("datetime_start", .string(time))) }
        if state.isFinished { fields.append(("datetime_complete", .string(time))) }
        return .object(fields)
    }

    static func intermediate(_ worker: String, trialID: Int, step: Int, value: Double) -> JSONValue {
        .object([("op_code", .number(7)), ("worker_id", .string(worker)), ("trial_id", .number(Double(trialID))),
                 ("step", .number(Double(step))), ("intermediate_value", .number(value))])
    }

    static func trialAttribute(_ worker: String, trialID: Int, key: String, value: JSONValue, system: Bool) -> JSONValue {
        .object([("op_code", .number(system ? 9 : 8)), ("worker_id", .string(worker)), ("trial_id", .number(Double(trialID))),
                 (system ? "system_attr" : "user_attr", .object([(key, value)]))])
    }
}
