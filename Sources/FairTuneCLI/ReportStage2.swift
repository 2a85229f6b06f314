import Foundation
import JSON

/// The stage-2 part of the report, read back from summary.json.
enum ReportStage2 {
    /// finetune.csv: one line per method and seed with its test metrics (docs/results.md).
    static func csv(_ summary: JSONValue) -> String {
        let keys = summary["metrics"]?.arrayValue?.compactMap(\.stringValue) ?? []
        var lines = [(["method", "seed", "lr", "tuning", "mask", "directory"] + keys.map { "test_" + $0.replacingOccurrences(of: ":", with: "_") }).map(csvQuote).joined(separator: ",")]
        for method in summary["methods"]?.arrayValue ?? [] {
            for run in method["runs"]?.arrayValue ?? [] {
                let fields = [method["name"]?.stringValue ?? "", run["seed"]?.intValue.map(String.init) ?? "",
                              method["lr"]?.stringValue ?? "", method["tuning"]?.stringValue ?? "", method["mask"]?.stringValue ?? "",
                              run["directory"]?.stringValue ?? ""]
                    + keys.map { TrialRow.csvField(run["test"]?[$0]?.doubleValue) }
                lines.append(fields.map(csvQuote).joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func cell(_ stat: JSONValue?) -> String {
        guard let mean = stat?["mean"]?.doubleValue else { return "—" }
        var text = String(format: "%.3f", mean)
        if let std = stat?["std"]?.doubleValue { text += String(format: " ± %.3f", std) }
        if let lower = stat?["lower"]?.doubleValue, let upper = stat?["upper"]?.doubleValue {
            text += String(format: " [%.3f, %.3f]", lower, upper)
        }
        return text
    }

    /// The stage-2 section of summary.md.
    static func markdown(_ summary: JSONValue) -> [String] {
        let keys = summary["metrics"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let seeds = summary["seeds"]?.arrayValue?.compactMap(\.intValue).map(String.init).joined(separator: ", ") ?? "?"
        let bootstrap = summary["bootstrap"]
        let confidence = Int(((bootstrap?["confidence"]?.doubleValue ?? 0.95) * 100).rounded())
        var lines = ["## Stage 2: test metrics", "",
                     "Attribute `\(summary["attribute"]?.stringValue ?? "?")`; seeds \(seeds). Each cell: mean ± std over the seeds "
                        + "[\(confidence)% bootstrap interval of the seed mean, \(bootstrap?["resamples"]?.intValue ?? 0) test resamples "
                        + "stratified by group and class, seed \(bootstrap?["seed"]?.intValue ?? 0)].", "",
                     "| method | lr | " + keys.map(FinetuneSummary.title).joined(separator: " | ") + " |",
                     "|---|---|" + keys.map { _ in "---|" }.joined()]
        for method in summary["methods"]?.arrayValue ?? [] {
            lines.append("| \(method["name"]?.stringValue ?? "?") | \(method["lr"]?.stringValue ?? "?") | "
                         + keys.map { cell(method["metrics"]?[$0]) }.joined(separator: " | ") + " |")
        }
        lines += ["", "### Paired differences FairTune − baseline", "",
                  "| baseline | metric | difference | \(confidence)% interval | |", "|---|---|---|---|---|"]
        for d in summary["differences"]?.arrayValue ?? [] {
            let estimate = d["estimate"]?.doubleValue.map { String(format: "%+.4f", $0) } ?? "—"
            var interval = "—"
            if let lower = d["lower"]?.doubleValue, let upper = d["upper"]?.doubleValue {
                interval = String(format: "[%+.4f, %+.4f]", lower, upper)
            }
            lines.append("| \(d["baseline"]?.stringValue ?? "?") | \(FinetuneSummary.title(d["metric"]?.stringValue ?? "")) | \(estimate) | "
                         + "\(interval) | \(d["statement"]?.stringValue ?? "") |")
        }
        lines.append("")
        return lines
    }
}
