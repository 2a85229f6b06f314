import Arguments
import Distributed
import DistributedEvaluation
import FileOutput
import Foundation
import JSON
import Metrics
import Training

/// `fairtune metrics`: every metric of a predictions CSV over the whole split, as JSON and a table.
let metricsCommand = Command(CommandSpec(
    name: "fairtune metrics",
    summary: """
        Evaluate a model's predictions (any model's: one row per sample) over the whole split: AUC,
        accuracy, balanced accuracy, TPR, FPR, loss and ECE overall and per group, best/worst/gap, and
        fairlearn's equalized-odds and demographic-parity metrics. Schema: docs/metrics.md.
        """,
    options: [
        .value("predictions", "CSV", "predictions file with a header line", required: true),
        .value("label-column", "NAME", "true class: 0/1, or 0..K-1 with K score columns", default: "label"),
        .value("score-column", "NAME", "class 1's score; give K columns (class 0 first) for K classes",
               default: "score", repeatable: true),
        .value("group-column", "NAME", "sensitive attribute; value -1 = unknown group", repeatable: true),
        .value("scores", "KIND", "probabilities or logits", default: "probabilities"),
        .value("threshold", "T", "binary: predicted positive when P(class 1) >= T", default: "0.5"),
        .value("bootstrap", "N", "percentile bootstrap resamples for the headline metrics (0 = none)", default: "0"),
        .value("seed", "S", "bootstrap seed", default: "0"),
        .value("confidence", "C", "bootstrap interval coverage", default: "0.95"),
        .value("out", "JSON", "write the report here (atomically)"),
        .flag("split-rows-across-ranks", "under mpirun: each rank keeps a contiguous share of the rows; rank 0 gathers and evaluates (tests the distributed path)"),
    ]
)) { args in
    let path = try args.requiredString("predictions")
    if let out = args.string("out") {
        try OutputPath.check(output: out, protected: [.init(role: "--predictions", path: path)], option: "--out")
    }
    let labelColumn = try args.requiredString("label-column")
    let scoreColumns = args.strings("score-column")
    let groupColumns = args.strings("group-column")
    let kind = ScoreKind(rawValue: try args.choice("scores", ScoreKind.allCases.map(\.rawValue))!)!
    let options = EvaluationOptions(threshold: try args.double("threshold", in: 0...1)!)
    let resamples = try args.int("bootstrap", in: 0...1_000_000)!
    let bootstrap = resamples == 0 ? nil : BootstrapOptions(
        resamples: resamples, seed: UInt64(try args.int("seed", in: 0...(1 << 53))!),
        confidence: try args.double("confidence", in: 0.5...0.999)!)
    if Set(scoreColumns).count != scoreColumns.count {
        throw ArgumentError.invalidValue(command: args.spec.name, option: "--score-column",
                                         value: scoreColumns.joined(separator: ","), expected: "distinct columns")
    }
    let table = try PredictionsTable(csv: CSVTable(path: path), labelColumn: labelColumn, scoreColumns: scoreColumns,
                                     groupColumns: groupColumns)
    let report: MetricsReport
    let intervals: [BootstrapInterval]?
    if args.flag("split-rows-across-ranks") {
        // Every rank read the whole file: check it whole first, so a bad row fails every rank
        // alike with its line number instead of leaving ranks waiting in the gather.
        _ = try table.predictions(kind: kind)
        let world = try MPICommunicator.world()
        defer { world.finalize() }
        let n = table.labels.count
        let share = table.rows((n * world.rank / world.size)..<(n * (world.rank + 1) / world.size))
        guard let result = try DistributedMetrics.evaluate(
            .init(scores: share.scores, labels: share.labels, attributes: share.attributes),
            scoreColumns: scoreColumns.count, kind: kind, options: options, bootstrap: bootstrap, on: world)
        else { return ExitStatus.success }
        (report, intervals) = result
    } else {
        let evaluator = try table.evaluator(kind: kind, options: options)
        report = evaluator.evaluate()
        intervals = try bootstrap.map { try evaluator.bootstrap($0) }
    }
    if let out = args.string("out") {
        let input = JSONValue.object([
            ("file", .string(path)),
            ("label_column", .string(labelColumn)),
            ("score_columns", .array(scoreColumns.map { .string($0) })),
            ("score_kind", .string(kind.rawValue)),
            ("group_columns", .array(groupColumns.map { .string($0) })),
        ])
        let json = report.json(input: input, bootstrap: bootstrap.flatMap { b in intervals.map { (b, $0) } })
        try writeAtomically(json.rendered() + "\n", to: out)
    }
    print(MetricsTable.render(report, intervals: intervals, bootstrap: bootstrap, source: path))
    return ExitStatus.success
}

/// A file that could not be written.
struct OutputError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "\(path): cannot write: \(reason)" }
}

/// Writes `text` atomically (see `AtomicFile`): readers never see a half-written report and a
/// failure leaves any old file intact.
func writeAtomically(_ text: String, to path: String) throws {
    do throws(AtomicFile.WriteError) {
        try AtomicFile.write(text, to: path)
    } catch {
        throw OutputError(path: path, reason: error.reason)
    }
}

/// The human-readable summary printed by `fairtune metrics`.
enum MetricsTable {
    /// The report (and bootstrap intervals) as aligned text, then the reasons of every n/a.
    static func render(_ r: MetricsReport, intervals: [BootstrapInterval]?, bootstrap: BootstrapOptions?, source: String) -> String {
        var lines: [String] = []
        var notes: [String] = []
        let threshold = r.classCount == 2 ? ", threshold \(r.threshold)" : " (predicted class = arg-max)"
        lines.append("\(source): \(r.sampleCount) samples, \(r.classCount) classes\(threshold)")
        let header = "group".padding(toLength: 18, withPad: " ", startingAt: 0)
            + ["n", "AUC", "acc", "bal.acc", "TPR", "FPR", "sel.rate", "loss", "ECE"].map { pad($0) }.joined()
        lines.append(header)
        func row(_ label: String, _ g: GroupMetrics, _ context: String) -> String {
            let values: [(String, MetricValue)] = [("AUC", g.auc), ("accuracy", g.accuracy), ("balanced accuracy", g.balancedAccuracy),
                                                   ("TPR", g.truePositiveRate), ("FPR", g.falsePositiveRate),
                                                   ("selection rate", g.selectionRate), ("loss", g.loss), ("ECE", g.calibrationError)]
            var text = label.padding(toLength: 18, withPad: " ", startingAt: 0) + pad(String(g.sampleCount))
            for (name, v) in values {
                text += pad(format(v))
                if case let .undefined(reason) = v, reason != .binaryOnly { notes.append("\(context) \(name): \(reason)") }
            }
            return text
        }
        lines.append(row("overall", r.overall, "overall"))
        for a in r.attributes {
            lines.append("\(a.name)" + (a.unknownCount > 0 ? " (\(a.unknownCount) samples of unknown group)" : ""))
            for g in a.groups { lines.append(row("  " + g.name, g, "\(a.name)=\(g.name)")) }
            let auc = a.summary(.auc), accuracy = a.summary(.accuracy)
            lines.append("  worst-group AUC \(format(auc.worst))\(auc.worstGroup.map { " (\($0))" } ?? ""), AUC gap \(format(auc.gap)), "
                + "worst-group accuracy \(format(accuracy.worst)), max group loss \(format(a.maxGroupLoss))")
            let f = a.fairness
            if r.classCount == 2 {
                lines.append("  EOD \(format(f.equalizedOddsDifference)) (mean \(format(f.equalizedOddsDifferenceMean))), "
                    + "EOR \(format(f.equalizedOddsRatio)) (mean \(format(f.equalizedOddsRatioMean))), "
                    + "DPD \(format(f.demographicParityDifference)), DPR \(format(f.demographicParityRatio))")
                for (name, v) in [("EOD", f.equalizedOddsDifference), ("EOR", f.equalizedOddsRatio), ("DPR", f.demographicParityRatio)] {
                    if case let .undefined(reason) = v { notes.append("\(a.name) \(name): \(reason)") }
                }
                if !f.groupsWithoutPositives.isEmpty {
                    notes.append("\(a.name): no positives in \(f.groupsWithoutPositives.joined(separator: ", ")); fairlearn counts their TPR as 0 in EOD/EOR")
                }
                if !f.groupsWithoutNegatives.isEmpty {
                    notes.append("\(a.name): no negatives in \(f.groupsWithoutNegatives.joined(separator: ", ")); fairlearn counts their FPR as 0 in EOD/EOR")
                }
            }
        }
        if let intervals, let bootstrap {
            lines.append("bootstrap: \(Int((bootstrap.confidence * 100).rounded()))% percentile intervals, "
                + "\(bootstrap.resamples) resamples stratified by class and groups, seed \(bootstrap.seed)")
            for i in intervals {
                let name = i.objective.rawValue + (i.attribute.map { " [\($0)]" } ?? "")
                lines.append("  " + name.padding(toLength: 28, withPad: " ", startingAt: 0)
                    + "\(format(i.estimate))  [\(format(i.lower)), \(format(i.upper))]"
                    + (i.definedResamples < i.resamples ? "  (defined in \(i.definedResamples) resamples)" : ""))
            }
        }
        if !notes.isEmpty {
            lines.append("undefined or flagged (n/a):")
            lines += notes.map { "  " + $0 }
        }
        return lines.joined(separator: "\n")
    }

    private static func pad(_ s: String) -> String {
        String(repeating: " ", count: max(0, 9 - s.count)) + s
    }

    private static func format(_ v: MetricValue) -> String {
        v.doubleValue.map { String(format: "%.4f", $0) } ?? "n/a"
    }
}
