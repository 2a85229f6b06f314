import Metrics
import Search

/// FairTune's objectives (the reference's `--objective_metric` names), computed on the whole
/// validation split rather than averaged over batches. Accuracies are fractions (the reference's
/// percent / 100); group objectives use one sensitive attribute.
public enum SearchObjective: String, Sendable, CaseIterable {
    /// The lowest group AUC (maximise).
    case minAUC = "min_auc"
    /// The AUC of the whole split (maximise).
    case overallAUC = "overall_auc"
    /// The lowest group accuracy (maximise).
    case minAccuracy = "min_acc"
    /// The accuracy of the whole split (maximise).
    case overallAccuracy = "overall_acc"
    /// |highest − lowest group AUC| (minimise).
    case aucDifference = "auc_diff"
    /// |highest − lowest group accuracy| (minimise).
    case accuracyDifference = "acc_diff"
    /// The largest group mean cross-entropy (minimise).
    case maxLoss = "max_loss"

    /// The Metrics objective this is; nil for `acc_diff`, the accuracy gap, which Metrics' objectives lack.
    var metric: Objective? {
        switch self {
        case .minAUC: return .worstGroupAUC
        case .overallAUC: return .auc
        case .minAccuracy: return .worstGroupAccuracy
        case .overallAccuracy: return .accuracy
        case .aucDifference: return .aucGap
        case .accuracyDifference: return nil
        case .maxLoss: return .maxGroupLoss
        }
    }

    /// Optuna's direction of this objective (a gap is minimised).
    public var direction: StudyDirection { metric?.higherIsBetter ?? false ? .maximize : .minimize }

    /// The objective's value in `report`, or undefined with the reason (a group with one class has
    /// no AUC, an empty group no accuracy).
    /// - Throws: `MetricsError.unknownAttribute` when the report has no attribute `attribute`.
    public func value(in report: MetricsReport, attribute: String) throws(MetricsError) -> MetricValue {
        guard let metric else { return try report.attribute(attribute).summary(.accuracy).gap }
        return try report.value(of: metric, attribute: attribute)
    }

    /// Parses `min_auc` or a two-objective `overall_auc,auc_diff`.
    /// - Throws: `StudyRunnerError.invalidSetting` naming the unknown name.
    public static func parseList(_ text: String) throws(StudyRunnerError) -> [SearchObjective] {
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var objectives: [SearchObjective] = []
        for name in names {
            guard let objective = SearchObjective(rawValue: name) else {
                throw .invalidSetting(option: "objective", message: "unknown objective '\(name)'; expected one of "
                    + allCases.map(\.rawValue).joined(separator: ", ") + ", or two of them separated by a comma")
            }
            objectives.append(objective)
        }
        guard (1...2).contains(objectives.count), Set(objectives).count == objectives.count else {
            throw .invalidSetting(option: "objective", message: "give one objective or two different ones (e.g. overall_auc,auc_diff), got '\(text)'")
        }
        return objectives
    }
}

/// A study setting or state the worker cannot honour, worded for the user.
public enum StudyRunnerError: Error, CustomStringConvertible, Sendable {
    /// A command-line setting that cannot work (`option` without the dashes).
    case invalidSetting(option: String, message: String)
    /// The study's stored settings are missing, mistyped or from an incompatible version.
    case studySetting(path: String, key: String, message: String)
    /// A trial could not be set up or run; the message names the file or setting.
    case trialFailed(number: Int, message: String)
    /// Rank 0 stopped the worker (the journal could not be read or written); rank 0 printed why.
    case workerFailed(message: String)

    public var description: String {
        switch self {
        case let .invalidSetting(option, message): return "--\(option): \(message)"
        case let .studySetting(path, key, message):
            return "\(path): study attribute \(key): \(message); was the study created by fairtune study create of a compatible version?"
        case let .trialFailed(number, message): return "trial \(number): \(message)"
        case let .workerFailed(message): return message
        }
    }
}
