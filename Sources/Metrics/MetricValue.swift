/// A metric's value, or the explicit statement that it is undefined and why.
///
/// Fairness objectives must never turn "undefined" into NaN or silently drop a group: every
/// consumer has to decide what an undefined value means for it.
public enum MetricValue: Sendable, Equatable, CustomStringConvertible {
    case value(Double)
    case undefined(UndefinedReason)

    /// The number, or nil when undefined.
    public var doubleValue: Double? {
        if case let .value(v) = self { return v }
        return nil
    }

    /// The reason, or nil when defined.
    public var undefinedReason: UndefinedReason? {
        if case let .undefined(r) = self { return r }
        return nil
    }

    public var description: String {
        switch self {
        case let .value(v): return "\(v)"
        case let .undefined(r): return "undefined (\(r))"
        }
    }

    /// Applies `transform` to a defined value; an undefined value stays undefined.
    public func map(_ transform: (Double) -> Double) -> MetricValue {
        switch self {
        case let .value(v): return .value(transform(v))
        case .undefined: return self
        }
    }
}

/// Why a metric has no value.
public indirect enum UndefinedReason: Sendable, Equatable, CustomStringConvertible {
    /// The group (or the split) has no samples.
    case noSamples
    /// Every sample has this label, so ROC AUC (positives ranked against negatives) does not exist.
    case oneClass(label: Int)
    /// Multi-class one-vs-rest AUC needs every class present; these are absent.
    case missingClasses([Int])
    /// No sample has label 1 (a true positive rate needs positives).
    case noPositives
    /// No sample has label 0 (a false positive rate needs negatives).
    case noNegatives
    /// The metric is defined for binary labels only.
    case binaryOnly
    /// A ratio whose numerator and denominator are both 0; the text says which quantity.
    case zeroOverZero(String)
    /// A comparison between groups needs at least two groups with samples.
    case fewerThanTwoGroups(present: Int)
    /// A summary over groups needs every group's value; this group's is undefined.
    case groupUndefined(group: String, reason: UndefinedReason)
    /// A combination needs every component; this one is undefined.
    case componentUndefined(component: String, reason: UndefinedReason)
    /// Every bootstrap resample gave an undefined value.
    case noDefinedResamples(resamples: Int)

    /// A stable identifier of the kind of reason, for machine readers of the JSON report.
    public var code: String {
        switch self {
        case .noSamples: return "no_samples"
        case .oneClass: return "one_class"
        case .missingClasses: return "missing_classes"
        case .noPositives: return "no_positives"
        case .noNegatives: return "no_negatives"
        case .binaryOnly: return "binary_only"
        case .zeroOverZero: return "zero_over_zero"
        case .fewerThanTwoGroups: return "fewer_than_two_groups"
        case .groupUndefined: return "group_undefined"
        case .componentUndefined: return "component_undefined"
        case .noDefinedResamples: return "no_defined_resamples"
        }
    }

    public var description: String {
        switch self {
        case .noSamples: return "no samples"
        case let .oneClass(label): return "only one class present (every label is \(label)); AUC needs both"
        case let .missingClasses(classes):
            return "class(es) \(classes.map(String.init).joined(separator: ", ")) absent; one-vs-rest AUC needs every class"
        case .noPositives: return "no samples with label 1"
        case .noNegatives: return "no samples with label 0"
        case .binaryOnly: return "defined for binary labels only"
        case let .zeroOverZero(what): return "0/0: \(what)"
        case let .fewerThanTwoGroups(present): return "only \(present) group(s) with samples; a comparison needs two"
        case let .groupUndefined(group, reason): return "group '\(group)': \(reason)"
        case let .componentUndefined(component, reason): return "\(component): \(reason)"
        case let .noDefinedResamples(resamples): return "undefined in all \(resamples) bootstrap resamples"
        }
    }
}
