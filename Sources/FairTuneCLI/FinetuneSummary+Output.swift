import FileOutput
import Foundation
import JSON

extension FinetuneSummary {
    /// Human names of the metric keys.
    static func title(_ key: String) -> String {
        switch key {
        case "auc": return "AUC"
        case "worst_group_auc": return "worst-group AUC"
        case "auc_gap": return "AUC gap"
        case "accuracy": return "accuracy"
        case "eod": return "EOD"
        default: return key.hasPrefix("auc:") ? "AUC[\(key.dropFirst(4))]" : key
        }
    }

    /// Whether a difference's interval excludes zero, in words.
    static func verdict(_ d: Difference, confidence: Double) -> String {
        let percent = "\(Int((confidence * 100).rounded()))%"
        guard let lower = d.interval.lower, let upper = d.interval.upper else {
            return "no \(percent) interval: the metric is undefined in every resample"
        }
        if lower > 0 { return "the \(percent) interval excludes zero (FairTune higher)" }
        if upper < 0 { return "the \(percent) interval excludes zero (FairTune lower)" }
        return "the \(percent) interval includes zero"
    }

    private static func number(_ x: Double?) -> JSONValue { x.map { JSONValue.number($0) } ?? .null }

    private func statJSON(_ s: Stat) -> JSONValue {
        .object([("mean", Self.number(s.mean)), ("std", Self.number(s.std)), ("lower", Self.number(s.lower)),
                 ("upper", Self.number(s.upper)), ("defined_resamples", .number(Double(s.definedResamples)))])
    }

    /// summary.json (format `fairtune-finetune-summary`, version 1; docs/results.md).
    func json() -> JSONValue {
        let methodsJSON = methods.map { m -> JSONValue in
            let grid: JSONValue = m.grid.map { g in .array(g.map { .object([("lr", .string($0.rate)), ("val_auc", Self.number($0.valAUC))]) }) } ?? .null
            let runs = m.runs.map { r -> JSONValue in
                .object([("seed", .number(Double(r.seed))), ("directory", .string(r.directory)),
                         ("test", .object(zip(metricKeys, r.values).map { ($0, Self.number($1)) }))])
            }
            return .object([
                ("name", .string(m.method.name)), ("tuning", .string(m.method.tuning)),
                ("mask", m.method.mask.map { .string($0) } ?? .null), ("lr", .string(m.rate)), ("lr_grid", grid),
                ("runs", .array(runs)), ("metrics", .object(zip(metricKeys, m.stats).map { ($0, statJSON($1)) })),
            ])
        }
        let differencesJSON = differences.map { d -> JSONValue in
            .object([("method", .string("fairtune")), ("baseline", .string(d.baseline)), ("metric", .string(d.metric)),
                     ("estimate", Self.number(d.estimate)), ("lower", Self.number(d.interval.lower)),
                     ("upper", Self.number(d.interval.upper)), ("defined_resamples", .number(Double(d.interval.definedResamples))),
                     ("excludes_zero", .bool((d.interval.lower ?? 0) > 0 || (d.interval.upper ?? 0) < 0)),
                     ("statement", .string(Self.verdict(d, confidence: options.confidence)))])
        }
        return .object([
            ("format", .string("fairtune-finetune-summary")), ("version", .number(1)),
            ("study", .string(study)), ("trial", trial.map { .number(Double($0)) } ?? .null),
            ("attribute", .string(attribute)), ("groups", .array(groups.map { .string($0) })),
            ("seeds", .array(seeds.map { .number(Double($0)) })),
            ("bootstrap", .object([("resamples", .number(Double(options.resamples))), ("seed", .number(Double(options.seed))),
                                   ("confidence", .number(options.confidence)),
                                   ("strata", .string("label x \(attribute) group, first appearance in predictions-test.csv")),
                                   ("statistic", .string("seed mean per resample; percentile interval"))])),
            ("metrics", .array(metricKeys.map { .string($0) })),
            ("methods", .array(methodsJSON)), ("differences", .array(differencesJSON)),
        ])
    }

    func write(to path: String) throws {
        do { try AtomicFile.write(json().rendered() + "\n", to: path) } catch { throw FinetuneError(message: "\(path): cannot write: \(error.reason)") }
    }

    /// `0.812 ± 0.010` (or `—` when undefined).
    static func meanText(_ s: Stat) -> String {
        guard let mean = s.mean else { return "—" }
        return String(format: "%.3f", mean) + (s.std.map { String(format: " ± %.3f", $0) } ?? "")
    }

    /// `[0.781, 0.840]`.
    static func intervalText(_ s: Stat, signed: Bool = false) -> String {
        guard let lower = s.lower, let upper = s.upper else { return "[—]" }
        let f = signed ? "%+.3f" : "%.3f"
        return "[" + String(format: f, lower) + ", " + String(format: f, upper) + "]"
    }

    /// The table printed on stdout: one row per method, then the paired differences in words.
    func table() -> String {
        let confidence = "\(Int((options.confidence * 100).rounded()))%"
        var lines = ["Test metrics on attribute '\(attribute)', mean ± std over seeds \(seeds.map(String.init).joined(separator: ",")); "
                     + "\(confidence) bootstrap interval of the seed mean below (\(options.resamples) resamples, seed \(options.seed)):"]
        let header = ["method", "lr"] + metricKeys.map(Self.title)
        var rows = [header]
        for m in methods {
            rows.append([m.method.name, m.rate] + m.stats.map(Self.meanText))
            rows.append(["", ""] + m.stats.map { Self.intervalText($0) })
        }
        let widths = header.indices.map { c in rows.map { $0[c].count }.max()! }
        for row in rows {
            lines.append(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
        for baseline in methods.dropFirst().map(\.method.name) {
            lines.append("")
            lines.append("FairTune − \(baseline) (paired: the same test resamples for both):")
            for d in differences where d.baseline == baseline {
                let estimate = d.estimate.map { String(format: "%+.3f", $0) } ?? "—"
                lines.append("  " + Self.title(d.metric).padding(toLength: 16, withPad: " ", startingAt: 0) + " \(estimate) "
                             + Self.intervalText(d.interval, signed: true) + ": " + Self.verdict(d, confidence: options.confidence))
            }
        }
        return lines.joined(separator: "\n")
    }
}
