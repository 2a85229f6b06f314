import JSON

extension Distribution {
    /// Reads a distribution as Optuna's `json_to_distribution` does: the canonical
    /// `{"name": ..., "attributes": {...}}` form (including Optuna 2's Uniform/LogUniform/DiscreteUniform/
    /// IntUniform/IntLogUniform names) or the abbreviated `{"type": "int"|"float"|"categorical", ...}` form.
    /// - Throws: a message naming what is missing or unsupported (categorical choices must be strings here).
    public init(journalText: String) throws(StudyError) {
        let value: JSONValue
        do { value = try JSONValue.parse(journalText) } catch {
            throw .invalidArgument("distribution text is not JSON (\(error)): \(journalText)")
        }
        if let name = value["name"]?.stringValue {
            guard let attributes = value["attributes"] else {
                throw .invalidArgument("distribution \(name) has no attributes: \(journalText)")
            }
            self = try Distribution.named(name, attributes, journalText)
        } else if let type = value["type"]?.stringValue {
            self = try Distribution.named(type, value, journalText)
        } else {
            throw .invalidArgument("a distribution needs \"name\" or \"type\": \(journalText)")
        }
    }

    private static func named(_ name: String, _ a: JSONValue, _ text: String) throws(StudyError) -> Distribution {
        func number(_ key: String) throws(StudyError) -> Double {
            guard let x = a[key]?.doubleValue else { throw .invalidArgument("distribution needs a number \"\(key)\": \(text)") }
            return x
        }
        func integer(_ key: String, default value: Int? = nil) throws(StudyError) -> Int {
            if let value, a[key] == nil || a[key]?.isNull == true { return value }
            guard let x = a[key]?.intValue else { throw .invalidArgument("distribution needs an integer \"\(key)\": \(text)") }
            return x
        }
        let log = a["log"]?.boolValue ?? false
        switch name {
        case "IntDistribution", "int":
            return .int(low: try integer("low"), high: try integer("high"), step: try integer("step", default: 1), log: log)
        case "IntUniformDistribution":
            return .int(low: try integer("low"), high: try integer("high"), step: try integer("step", default: 1), log: false)
        case "IntLogUniformDistribution":
            return .int(low: try integer("low"), high: try integer("high"), step: 1, log: true)
        case "FloatDistribution", "float":
            let step = a["step"]?.doubleValue
            return .float(low: try number("low"), high: try number("high"), step: step, log: log)
        case "UniformDistribution": return .float(low: try number("low"), high: try number("high"), step: nil, log: false)
        case "LogUniformDistribution": return .float(low: try number("low"), high: try number("high"), step: nil, log: true)
        case "DiscreteUniformDistribution":
            return .float(low: try number("low"), high: try number("high"), step: try number("q"), log: false)
        case "CategoricalDistribution", "categorical":
            guard let items = a["choices"]?.arrayValue else { throw .invalidArgument("categorical distribution needs \"choices\": \(text)") }
            var choices: [String] = []
            for item in items {
                guard let s = item.stringValue else {
                    throw .invalidArgument("categorical choices other than strings are not supported: \(text)")
                }
                choices.append(s)
            }
            return .categorical(choices: choices)
        default:
            throw .invalidArgument("unknown distribution \"\(name)\": \(text)")
        }
    }

    /// Whether Optuna accepts `other` for a parameter first recorded with `self` (`check_distribution_compatibility`):
    /// the same kind, the same `log`, and for categoricals the same choices.
    public func isCompatible(with other: Distribution) -> Bool {
        switch (self, other) {
        case let (.int(_, _, _, a), .int(_, _, _, b)): return a == b
        case let (.float(_, _, _, a), .float(_, _, _, b)): return a == b
        case let (.categorical(a), .categorical(b)): return a == b
        default: return false
        }
    }

    /// The value Optuna's `fixed_params` or a report shows for internal value `value`: a number, or the chosen string.
    public func externalValue(_ value: Double) -> JSONValue {
        if case let .categorical(choices) = self, let i = Int(exactly: value), choices.indices.contains(i) {
            return .string(choices[i])
        }
        return .number(value)
    }

    /// The internal value of an external one (Optuna's `to_internal_repr`), nil when it is not one of the distribution's.
    public func internalValue(_ value: JSONValue) -> Double? {
        switch self {
        case let .categorical(choices):
            guard let s = value.stringValue, let i = choices.firstIndex(of: s) else { return nil }
            return Double(i)
        default:
            return value.doubleValue
        }
    }
}
