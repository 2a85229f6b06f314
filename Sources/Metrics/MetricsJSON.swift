/// A JSON value whose objects keep their key order, so reports read top-down and diff cleanly.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A finite number (undefined metrics are objects, never NaN).
    case number(Double)
    case string(String)
    case array([JSONValue])
    /// Keys in the order given.
    case object([(String, JSONValue)])

    /// Equal when the rendered texts are equal.
    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.rendered() == b.rendered() }

    /// The value as indented JSON text (two spaces), numbers in shortest round-trip form.
    public func rendered(indent: String = "") -> String {
        let inner = indent + "  "
        switch self {
        case .null: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .number(x):
            precondition(x.isFinite, "JSON has no NaN or infinity; undefined metrics are objects")
            if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
            return "\(x)"
        case let .string(s): return JSONValue.quote(s)
        case let .array(items):
            if items.isEmpty { return "[]" }
            if items.allSatisfy(\.isScalar) {
                return "[" + items.map { $0.rendered() }.joined(separator: ", ") + "]"
            }
            return "[\n" + items.map { inner + $0.rendered(indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        case let .object(pairs):
            if pairs.isEmpty { return "{}" }
            if pairs.allSatisfy({ $0.1.isScalar }) {
                // Metric values ({"value": x}) stay on one line.
                return "{" + pairs.map { JSONValue.quote($0.0) + ": " + $0.1.rendered() }.joined(separator: ", ") + "}"
            }
            return "{\n" + pairs.map { inner + JSONValue.quote($0.0) + ": " + $0.1.rendered(indent: inner) }
                .joined(separator: ",\n") + "\n" + indent + "}"
        }
    }

    /// Whether the value is a number, string, bool or null.
    var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }

    private static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}

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
