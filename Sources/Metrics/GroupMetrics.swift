/// The per-group metrics that are summarised by best group, worst group and gap.
public enum GroupMetric: String, Sendable, CaseIterable {
    case auc
    case accuracy
    case balancedAccuracy = "balanced_accuracy"
    case truePositiveRate = "tpr"
    case falsePositiveRate = "fpr"
    case loss
    case calibrationError = "ece"

    /// Whether a larger value is better (decides which group is "best").
    public var higherIsBetter: Bool {
        switch self {
        case .auc, .accuracy, .balancedAccuracy, .truePositiveRate: return true
        case .falsePositiveRate, .loss, .calibrationError: return false
        }
    }
}

/// Metrics of one group (or of the whole split) over all its samples.
public struct GroupMetrics: Sendable, Equatable {
    /// The group's name (`all` for the whole split).
    public let name: String
    /// Samples in the group (with multiplicity in a bootstrap resample).
    public let sampleCount: Int
    /// Samples per true class.
    public let classCounts: [Int]
    /// ROC AUC (binary) or one-vs-rest macro AUC (multi-class); ties count half.
    public let auc: MetricValue
    /// Share of samples predicted as their true class.
    public let accuracy: MetricValue
    /// Mean recall over the classes present, as scikit-learn's `balanced_accuracy_score`.
    public let balancedAccuracy: MetricValue
    /// TP / (TP + FN); undefined without positives (fairlearn's 0 is used only inside EOD/EOR).
    public let truePositiveRate: MetricValue
    /// FP / (FP + TN); undefined without negatives.
    public let falsePositiveRate: MetricValue
    /// Share predicted positive (binary).
    public let selectionRate: MetricValue
    /// Mean per-sample cross-entropy.
    public let loss: MetricValue
    /// Expected calibration error.
    public let calibrationError: MetricValue

    /// The value of `metric`.
    public func value(_ metric: GroupMetric) -> MetricValue {
        switch metric {
        case .auc: return auc
        case .accuracy: return accuracy
        case .balancedAccuracy: return balancedAccuracy
        case .truePositiveRate: return truePositiveRate
        case .falsePositiveRate: return falsePositiveRate
        case .loss: return loss
        case .calibrationError: return calibrationError
        }
    }

    /// Reads slot `s` of `totals`.
    init(name: String, totals t: SlotTotals, slot s: Int) {
        let k = t.classCount
        let n = t.weight[s]
        self.name = name
        sampleCount = Int(n)
        classCounts = (0..<k).map { Int(t.classSupport[s * k + $0]) }
        guard n > 0 else {
            let none = MetricValue.undefined(.noSamples)
            auc = none; accuracy = none; balancedAccuracy = none; truePositiveRate = none
            falsePositiveRate = none; selectionRate = none; loss = none; calibrationError = none
            return
        }
        auc = GroupMetrics.auc(t, slot: s)
        var correct = 0.0, recallSum = 0.0, present = 0
        for c in 0..<k {
            correct += t.classCorrect[s * k + c]
            let support = t.classSupport[s * k + c]
            if support > 0 {
                recallSum += t.classCorrect[s * k + c] / support
                present += 1
            }
        }
        accuracy = .value(correct / n)
        balancedAccuracy = .value(recallSum / Double(present))
        loss = .value(t.lossSum[s] / n)
        calibrationError = Calibration.expectedCalibrationError(t, slot: s)
        if k == 2 {
            let negatives = t.classSupport[s * 2], positives = t.classSupport[s * 2 + 1]
            let truePositives = t.classCorrect[s * 2 + 1]
            let falsePositives = negatives - t.classCorrect[s * 2]
            truePositiveRate = positives > 0 ? .value(truePositives / positives) : .undefined(.noPositives)
            falsePositiveRate = negatives > 0 ? .value(falsePositives / negatives) : .undefined(.noNegatives)
            selectionRate = .value(t.predictedPositive[s] / n)
        } else {
            truePositiveRate = .undefined(.binaryOnly)
            falsePositiveRate = .undefined(.binaryOnly)
            selectionRate = .undefined(.binaryOnly)
        }
    }

    /// Binary AUC, or the unweighted mean of the one-vs-rest AUCs (scikit-learn's `multi_class="ovr"`, macro).
    private static func auc(_ t: SlotTotals, slot s: Int) -> MetricValue {
        let columns = t.aucColumns
        if columns == 1 {
            let pos = t.aucPositives[s], neg = t.aucNegatives[s]
            if pos == 0 { return .undefined(.oneClass(label: 0)) }
            if neg == 0 { return .undefined(.oneClass(label: 1)) }
            return .value(t.aucCredit[s] / (pos * neg))
        }
        let missing = (0..<columns).filter { t.aucPositives[s * columns + $0] == 0 }
        if !missing.isEmpty { return .undefined(.missingClasses(missing)) }
        var sum = 0.0
        for c in 0..<columns {
            sum += t.aucCredit[s * columns + c] / (t.aucPositives[s * columns + c] * t.aucNegatives[s * columns + c])
        }
        return .value(sum / Double(columns))
    }
}

/// Best group, worst group and the gap between them for one metric over an attribute's groups.
///
/// Undefined (naming the group) as soon as any group's value is undefined: a worst-group
/// objective that skipped the group would reward models whose weakest group cannot be measured.
public struct GroupSummary: Sendable, Equatable {
    /// The metric summarised.
    public let metric: GroupMetric
    /// The best group's value (the largest, or the smallest for lower-is-better metrics).
    public let best: MetricValue
    /// The first group with the best value; nil when undefined.
    public let bestGroup: String?
    /// The worst group's value.
    public let worst: MetricValue
    /// The first group with the worst value; nil when undefined.
    public let worstGroup: String?
    /// |best − worst|.
    public let gap: MetricValue

    /// Summarises `metric` over `groups`.
    init(metric: GroupMetric, groups: [GroupMetrics]) {
        self.metric = metric
        var values: [(group: String, value: Double)] = []
        var failure: UndefinedReason?
        if groups.isEmpty { failure = .fewerThanTwoGroups(present: 0) }
        for g in groups where failure == nil {
            switch g.value(metric) {
            case let .value(v): values.append((group: g.name, value: v))
            case let .undefined(reason): failure = .groupUndefined(group: g.name, reason: reason)
            }
        }
        if let failure {
            best = .undefined(failure); worst = .undefined(failure); gap = .undefined(failure)
            bestGroup = nil; worstGroup = nil
            return
        }
        var hi = values[0], lo = values[0]
        for v in values.dropFirst() {
            if v.value > hi.value { hi = v }
            if v.value < lo.value { lo = v }
        }
        let (b, w) = metric.higherIsBetter ? (hi, lo) : (lo, hi)
        best = .value(b.value); bestGroup = b.group
        worst = .value(w.value); worstGroup = w.group
        gap = .value(hi.value - lo.value)
    }
}
