import JSON

/// The version of the JSON layout documented in docs/metrics.md; bump on any incompatible change.
public let metricsReportFormatVersion = 1

extension MetricValue {
    /// `{"value": x}` or `{"value": null, "undefined": code, "reason": text}`.
    public var json: JSONValue {
        switch self {
        case let .value(v): return .object([("value", .number(v))])
        case let .undefined(r): return .object([("value", .null), ("undefined", .string(r.code)), ("reason", .string(r.description))])
        }
    }
}

extension GroupMetrics {
    /// The group's metrics as a JSON object.
    public var json: JSONValue {
        .object([
            ("name", .string(name)),
            ("samples", .number(Double(sampleCount))),
            ("class_counts", .array(classCounts.map { .number(Double($0)) })),
            ("auc", auc.json),
            ("accuracy", accuracy.json),
            ("balanced_accuracy", balancedAccuracy.json),
            ("tpr", truePositiveRate.json),
            ("fpr", falsePositiveRate.json),
            ("selection_rate", selectionRate.json),
            ("loss", loss.json),
            ("ece", calibrationError.json),
        ])
    }
}

extension AttributeReport {
    /// The attribute's groups, summaries and fairness metrics as a JSON object.
    public var json: JSONValue {
        let summaryPairs: [(String, JSONValue)] = summaries.map { s in
            (s.metric.rawValue, .object([
                ("best", s.best.json), ("best_group", s.bestGroup.map { .string($0) } ?? .null),
                ("worst", s.worst.json), ("worst_group", s.worstGroup.map { .string($0) } ?? .null),
                ("gap", s.gap.json),
            ]))
        }
        let f = fairness
        return .object([
            ("name", .string(name)),
            ("unknown_group_samples", .number(Double(unknownCount))),
            ("groups", .array(groups.map(\.json))),
            ("summaries", .object(summaryPairs)),
            ("max_group_loss", maxGroupLoss.json),
            ("fairness", .object([
                ("equalized_odds_difference", f.equalizedOddsDifference.json),
                ("equalized_odds_difference_mean", f.equalizedOddsDifferenceMean.json),
                ("equalized_odds_ratio", f.equalizedOddsRatio.json),
                ("equalized_odds_ratio_mean", f.equalizedOddsRatioMean.json),
                ("tpr_difference", f.truePositiveRateDifference.json),
                ("fpr_difference", f.falsePositiveRateDifference.json),
                ("tpr_ratio", f.truePositiveRateRatio.json),
                ("fpr_ratio", f.falsePositiveRateRatio.json),
                ("demographic_parity_difference", f.demographicParityDifference.json),
                ("demographic_parity_ratio", f.demographicParityRatio.json),
                ("groups_without_positives", .array(f.groupsWithoutPositives.map { .string($0) })),
                ("groups_without_negatives", .array(f.groupsWithoutNegatives.map { .string($0) })),
                ("empty_groups", .array(f.emptyGroups.map { .string($0) })),
            ])),
        ])
    }
}

extension BootstrapInterval {
    /// The interval as a JSON object.
    public var json: JSONValue {
        .object([
            ("objective", .string(objective.rawValue)),
            ("attribute", attribute.map { .string($0) } ?? .null),
            ("estimate", estimate.json),
            ("lower", lower.json),
            ("upper", upper.json),
            ("defined_resamples", .number(Double(definedResamples))),
        ])
    }
}

extension MetricsReport {
    /// The whole report as documented in docs/metrics.md. `input` describes where the data came
    /// from (the CLI's file and columns); `bootstrap` adds the intervals and their settings.
    public func json(input: JSONValue = .null, bootstrap: (BootstrapOptions, [BootstrapInterval])? = nil) -> JSONValue {
        var bootstrapJSON = JSONValue.null
        if let (options, intervals) = bootstrap {
            bootstrapJSON = .object([
                ("resamples", .number(Double(options.resamples))),
                ("seed", .number(Double(options.seed))),
                ("confidence", .number(options.confidence)),
                ("method", .string("percentile; strata = true class x group of every attribute")),
                ("intervals", .array(intervals.map(\.json))),
            ])
        }
        return .object([
            ("format", .string("fairtune-metrics")),
            ("version", .number(Double(metricsReportFormatVersion))),
            ("input", input),
            ("samples", .number(Double(sampleCount))),
            ("classes", .number(Double(classCount))),
            ("threshold", classCount == 2 ? .number(threshold) : .null),
            ("calibration_bins", .number(Double(calibrationBins))),
            ("overall", overall.json),
            ("attributes", .array(attributes.map(\.json))),
            ("bootstrap", bootstrapJSON),
        ])
    }
}
