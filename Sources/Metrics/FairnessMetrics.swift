/// fairlearn's group-fairness metrics of one attribute (`method="between_groups"`), binary only.
///
/// As in fairlearn, only groups with samples take part, and a group without positives has
/// TPR 0 (without negatives FPR 0) inside EOD/EOR; those groups are listed so a reader can see
/// the convention at work. Deviations from fairlearn, both towards "undefined": with fewer
/// than two groups present every metric is undefined (fairlearn reports perfect fairness), and
/// an equalized-odds ratio is undefined when its TPR or FPR ratio is 0/0 (fairlearn's result
/// then depends on the order of Python's `min` arguments or on pandas skipping NaN).
public struct FairnessMetrics: Sendable, Equatable {
    /// max − min of the group TPRs.
    public let truePositiveRateDifference: MetricValue
    /// max − min of the group FPRs.
    public let falsePositiveRateDifference: MetricValue
    /// min / max of the group TPRs; 0/0 undefined.
    public let truePositiveRateRatio: MetricValue
    /// min / max of the group FPRs; 0/0 undefined.
    public let falsePositiveRateRatio: MetricValue
    /// `equalized_odds_difference(agg="worst_case")`: the larger of the TPR and FPR differences.
    public let equalizedOddsDifference: MetricValue
    /// `equalized_odds_difference(agg="mean")`.
    public let equalizedOddsDifferenceMean: MetricValue
    /// `equalized_odds_ratio(agg="worst_case")`: the smaller of the TPR and FPR ratios.
    public let equalizedOddsRatio: MetricValue
    /// `equalized_odds_ratio(agg="mean")`.
    public let equalizedOddsRatioMean: MetricValue
    /// `demographic_parity_difference`: max − min of the group selection rates.
    public let demographicParityDifference: MetricValue
    /// `demographic_parity_ratio`: min / max of the group selection rates; 0/0 undefined.
    public let demographicParityRatio: MetricValue
    /// Groups with samples but no positives (their TPR counts as 0 above).
    public let groupsWithoutPositives: [String]
    /// Groups with samples but no negatives (their FPR counts as 0 above).
    public let groupsWithoutNegatives: [String]
    /// Groups without samples, left out as fairlearn never sees them.
    public let emptyGroups: [String]

    /// fairlearn's metrics from the attribute's per-group metrics.
    init(attributeGroups groups: [GroupMetrics], classCount: Int) {
        let present = groups.filter { $0.sampleCount > 0 }
        emptyGroups = groups.filter { $0.sampleCount == 0 }.map(\.name)
        groupsWithoutPositives = classCount == 2 ? present.filter { $0.classCounts[1] == 0 }.map(\.name) : []
        groupsWithoutNegatives = classCount == 2 ? present.filter { $0.classCounts[0] == 0 }.map(\.name) : []
        let failure: UndefinedReason? = classCount != 2 ? .binaryOnly
            : present.count < 2 ? .fewerThanTwoGroups(present: present.count) : nil
        if let failure {
            let u = MetricValue.undefined(failure)
            truePositiveRateDifference = u; falsePositiveRateDifference = u; truePositiveRateRatio = u
            falsePositiveRateRatio = u; equalizedOddsDifference = u; equalizedOddsDifferenceMean = u
            equalizedOddsRatio = u; equalizedOddsRatioMean = u; demographicParityDifference = u; demographicParityRatio = u
            return
        }
        // fairlearn's rates: confusion_matrix(normalize="true") turns an empty row into zeros.
        let tpr = present.map { $0.truePositiveRate.doubleValue ?? 0 }
        let fpr = present.map { $0.falsePositiveRate.doubleValue ?? 0 }
        let selection = present.map { $0.selectionRate.doubleValue ?? 0 }
        let tprDifference = tpr.max()! - tpr.min()!
        let fprDifference = fpr.max()! - fpr.min()!
        truePositiveRateDifference = .value(tprDifference)
        falsePositiveRateDifference = .value(fprDifference)
        equalizedOddsDifference = .value(Swift.max(tprDifference, fprDifference))
        equalizedOddsDifferenceMean = .value((tprDifference + fprDifference) / 2)
        let tprRatio = FairnessMetrics.ratio(tpr, "every group's TPR is 0")
        let fprRatio = FairnessMetrics.ratio(fpr, "every group's FPR is 0")
        truePositiveRateRatio = tprRatio
        falsePositiveRateRatio = fprRatio
        switch (tprRatio, fprRatio) {
        case let (.value(a), .value(b)):
            equalizedOddsRatio = .value(Swift.min(a, b))
            equalizedOddsRatioMean = .value((a + b) / 2)
        case let (.undefined(reason), _):
            equalizedOddsRatio = .undefined(.componentUndefined(component: "TPR ratio", reason: reason))
            equalizedOddsRatioMean = equalizedOddsRatio
        case let (_, .undefined(reason)):
            equalizedOddsRatio = .undefined(.componentUndefined(component: "FPR ratio", reason: reason))
            equalizedOddsRatioMean = equalizedOddsRatio
        }
        demographicParityDifference = .value(selection.max()! - selection.min()!)
        demographicParityRatio = FairnessMetrics.ratio(selection, "no group has a predicted positive")
    }

    /// min / max, undefined when the max is 0.
    private static func ratio(_ values: [Double], _ why: String) -> MetricValue {
        let hi = values.max()!
        return hi == 0 ? .undefined(.zeroOverZero(why)) : .value(values.min()! / hi)
    }
}
