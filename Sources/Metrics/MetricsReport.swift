/// The metrics of one sensitive attribute: each group, the summaries over groups, fairlearn's metrics.
public struct AttributeReport: Sendable, Equatable {
    /// The attribute's name.
    public let name: String
    /// One entry per declared group, in code order (including empty groups).
    public let groups: [GroupMetrics]
    /// Samples whose group is unknown (-1): counted overall, in no group.
    public let unknownCount: Int
    /// Best/worst/gap per `GroupMetric`, in `GroupMetric.allCases` order.
    public let summaries: [GroupSummary]
    /// fairlearn's equalized-odds and demographic-parity metrics.
    public let fairness: FairnessMetrics

    /// The summary of `metric`.
    public func summary(_ metric: GroupMetric) -> GroupSummary {
        summaries[GroupMetric.allCases.firstIndex(of: metric)!]
    }

    /// The largest group mean loss (the worst group of `loss`).
    public var maxGroupLoss: MetricValue { summary(.loss).worst }
}

/// What a search or a report can optimise: one number with a typed "undefined".
/// The raw values name them in JSON and on command lines.
public enum Objective: String, Sendable, CaseIterable {
    /// Overall AUC (whole split, unknown groups included).
    case auc
    /// Overall accuracy.
    case accuracy
    /// Overall balanced accuracy.
    case balancedAccuracy = "balanced_accuracy"
    /// Overall mean cross-entropy.
    case loss
    /// Overall expected calibration error.
    case calibrationError = "ece"
    /// The lowest group AUC of an attribute; undefined if any group's AUC is.
    case worstGroupAUC = "worst_group_auc"
    /// Highest minus lowest group AUC; undefined if any group's AUC is.
    case aucGap = "auc_gap"
    /// The lowest group accuracy.
    case worstGroupAccuracy = "worst_group_accuracy"
    /// The largest group mean loss.
    case maxGroupLoss = "max_group_loss"
    /// fairlearn's equalized-odds difference (worst case).
    case equalizedOddsDifference = "eod"
    /// fairlearn's equalized-odds ratio (worst case).
    case equalizedOddsRatio = "eor"
    /// fairlearn's demographic-parity difference.
    case demographicParityDifference = "dpd"
    /// fairlearn's demographic-parity ratio.
    case demographicParityRatio = "dpr"

    /// Whether the objective compares groups of an attribute.
    public var needsAttribute: Bool {
        switch self {
        case .auc, .accuracy, .balancedAccuracy, .loss, .calibrationError: return false
        default: return true
        }
    }

    /// Whether a larger value is better (decides a best epoch, a search's direction).
    public var higherIsBetter: Bool {
        switch self {
        case .auc, .accuracy, .balancedAccuracy, .worstGroupAUC, .worstGroupAccuracy, .equalizedOddsRatio,
             .demographicParityRatio:
            return true
        case .loss, .calibrationError, .aucGap, .maxGroupLoss, .equalizedOddsDifference, .demographicParityDifference:
            return false
        }
    }
}

/// Every metric of a split: overall, per group of each attribute, and fairness.
public struct MetricsReport: Sendable, Equatable {
    /// n.
    public let sampleCount: Int
    /// K.
    public let classCount: Int
    /// The binary decision threshold on P(class 1).
    public let threshold: Double
    /// Bins of the calibration error.
    public let calibrationBins: Int
    /// The whole split, unknown-group samples included.
    public let overall: GroupMetrics
    /// One report per sensitive attribute, in the order given.
    public let attributes: [AttributeReport]

    /// The attribute called `name`.
    public func attribute(_ name: String) throws(MetricsError) -> AttributeReport {
        guard let a = attributes.first(where: { $0.name == name }) else {
            throw .unknownAttribute(name, known: attributes.map(\.name))
        }
        return a
    }

    /// The value of `objective`; `attribute` names the attribute for group objectives.
    /// - Throws: `MetricsError.attributeRequired` for a group objective without an attribute,
    ///   `.unknownAttribute` if it names no known attribute.
    public func value(of objective: Objective, attribute name: String? = nil) throws(MetricsError) -> MetricValue {
        if !objective.needsAttribute {
            switch objective {
            case .auc: return overall.auc
            case .accuracy: return overall.accuracy
            case .balancedAccuracy: return overall.balancedAccuracy
            case .loss: return overall.loss
            default: return overall.calibrationError
            }
        }
        guard let name else { throw .attributeRequired(objective: objective.rawValue) }
        let a = try attribute(name)
        switch objective {
        case .worstGroupAUC: return a.summary(.auc).worst
        case .aucGap: return a.summary(.auc).gap
        case .worstGroupAccuracy: return a.summary(.accuracy).worst
        case .maxGroupLoss: return a.maxGroupLoss
        case .equalizedOddsDifference: return a.fairness.equalizedOddsDifference
        case .equalizedOddsRatio: return a.fairness.equalizedOddsRatio
        case .demographicParityDifference: return a.fairness.demographicParityDifference
        default: return a.fairness.demographicParityRatio
        }
    }
}

/// Evaluates one split: prepares it once (sorting each score column), then computes the report
/// from weighted sums; the bootstrap reuses the preparation with resampling weights.
public struct MetricsEvaluator: Sendable {
    let split: PreparedSplit
    /// The sensitive attributes, in report order.
    public let attributes: [SensitiveAttribute]
    /// Threshold and calibration bins.
    public let options: EvaluationOptions

    /// - Throws: `MetricsError` when an attribute's length differs from the predictions', a name
    ///   repeats, or the options are out of range.
    public init(predictions: Predictions, attributes: [SensitiveAttribute], options: EvaluationOptions = .init()) throws(MetricsError) {
        guard options.threshold.isFinite else { throw .invalidOption("threshold must be a finite number") }
        guard options.calibrationBins >= 1 else { throw .invalidOption("calibration bins must be at least 1") }
        var seen = Set<String>()
        for a in attributes {
            guard a.codes.count == predictions.sampleCount else {
                throw .lengthMismatch(what: "attribute '\(a.name)'", expected: predictions.sampleCount, found: a.codes.count)
            }
            guard seen.insert(a.name).inserted else { throw .duplicateAttribute(a.name) }
        }
        self.split = PreparedSplit(predictions: predictions, attributes: attributes, options: options)
        self.attributes = attributes
        self.options = options
    }

    /// Every metric over the whole split.
    public func evaluate() -> MetricsReport {
        var workspace = Workspace(split: split)
        return report(weights: [Double](repeating: 1, count: split.sampleCount), workspace: &workspace)
    }

    /// Reusable buffers for one pass (one per bootstrap loop, not per resample).
    struct Workspace {
        var totals: SlotTotals
        /// [3 * slotCount] for the AUC passes.
        var scratch: [Double]

        /// Buffers shaped for `split`.
        init(split: PreparedSplit) {
            totals = SlotTotals(split: split)
            scratch = [Double](repeating: 0, count: 3 * split.layout.slotCount)
        }
    }

    /// The report of the split with the sample at position p (see `PreparedSplit`) counted `weights[p]` times.
    func report(weights: [Double], workspace w: inout Workspace) -> MetricsReport {
        w.totals.reset()
        ConfusionCounts.accumulate(split, weights: weights, into: &w.totals, scratch: &w.scratch)
        let totals = w.totals
        let overall = GroupMetrics(name: "all", totals: totals, slot: 0)
        let reports = attributes.enumerated().map { (a, attribute) in
            let first = split.layout.firstSlot[a]
            let groups = attribute.groupNames.enumerated().map { g, name in
                GroupMetrics(name: name, totals: totals, slot: first + g)
            }
            let grouped = groups.reduce(0) { $0 + $1.sampleCount }
            return AttributeReport(name: attribute.name, groups: groups, unknownCount: overall.sampleCount - grouped,
                                   summaries: GroupMetric.allCases.map { GroupSummary(metric: $0, groups: groups) },
                                   fairness: FairnessMetrics(attributeGroups: groups, classCount: split.classCount))
        }
        return MetricsReport(sampleCount: overall.sampleCount, classCount: split.classCount, threshold: options.threshold,
                             calibrationBins: options.calibrationBins, overall: overall, attributes: reports)
    }
}
