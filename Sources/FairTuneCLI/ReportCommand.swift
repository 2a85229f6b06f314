import Arguments
import FileOutput
import Foundation
import JSON
import Search

/// `fairtune report`: one folder with the study's trials, the stage-2 comparison and their plots.
let reportCommand = Command(CommandSpec(
    name: "fairtune report",
    summary: """
        Collect a study (running or finished) and/or a stage-2 folder into DIR: summary.md (open it in a
        browser or Markdown viewer), trials.csv, finetune.csv and SVG plots (optimisation history, Pareto
        view, mask, mask-bit frequency, per-group test AUC). See docs/results.md.
        """,
    options: [
        .value("study", "FILE", "the study journal"),
        .value("finetune", "DIR", "the folder of fairtune finetune (its summary.json)"),
        .value("out", "DIR", "report folder (created; its files are replaced)", required: true),
    ]
)) { args in
    let studyPath = args.string("study"), finetuneDirectory = args.string("finetune")
    guard studyPath != nil || finetuneDirectory != nil else { throw ArgumentError.missingRequired(command: "fairtune report", option: "study (or --finetune, or both)") }
    let out = try args.requiredString("out")
    do {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    } catch {
        throw FinetuneError(message: "\(out): cannot create the report folder: \(error.localizedDescription)")
    }
    var report = Report(out: out)
    if let studyPath { try report.addStudy(try StudySetup(path: studyPath)) }
    if let finetuneDirectory { try report.addFinetune(finetuneDirectory) }
    try report.write("summary.md", report.markdown.joined(separator: "\n") + "\n")
    print("Wrote \(out)/summary.md and \(report.files.joined(separator: ", "))")
    return ExitStatus.success
}

/// The report folder being written: its files and the Markdown that links them.
struct Report {
    let out: String
    var markdown: [String] = ["# FairTune report", ""]
    var files: [String] = []

    mutating func write(_ name: String, _ text: String) throws {
        do { try AtomicFile.write(text, to: "\(out)/\(name)") } catch { throw FinetuneError(message: "\(out)/\(name): cannot write: \(error.reason)") }
        if name != "summary.md" { files.append(name) }
    }

    /// The study section: settings, trials by state, best trial and mask, failures, plots.
    mutating func addStudy(_ setup: StudySetup) throws {
        let (rows, groups) = TrialRow.read(setup)
        try write("trials.csv", TrialRow.csv(rows, groups: groups, objectives: setup.objectives))
        try write("history.svg", ReportPlots.history(rows, setup: setup))
        try write("pareto.svg", ReportPlots.pareto(rows, attribute: setup.attribute))
        try write("mask-frequency.svg", ReportPlots.maskFrequency(rows, setup: setup))
        let counts = Dictionary(grouping: rows, by: \.state).mapValues(\.count)
        let finished = (counts["COMPLETE"] ?? 0) + (counts["PRUNED"] ?? 0)
        let data = StudySetup.optionValues("data", in: setup.trainArguments).last ?? "?"
        markdown += ["## Study `\(setup.name)`", "",
                     "- File: `\(setup.path)`", "- Dataset: `\(data)`; sensitive attribute `\(setup.attribute)`",
                     "- Method: `\(setup.tuning?.rawValue ?? "?")`; objective: \(setup.objectives.map { "`\($0)`" }.joined(separator: ", ")) ("
                        + setup.directions.map { $0 == .minimize ? "minimize" : "maximize" }.joined(separator: ", ") + ")",
                     "- Trials: " + ["COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING"].map { "\(counts[$0] ?? 0) \($0)" }.joined(separator: ", ")]
        if let wanted = setup.wantedTrials {
            markdown.append(finished >= wanted ? "- Finished: all \(wanted) wanted trials."
                            : "- **Still running**: \(finished) of \(wanted) wanted trials finished, \(wanted - finished) left; this report shows what is finished.")
        }
        markdown.append("")
        try addBest(setup, rows: rows)
        let failed = rows.filter { $0.state == "FAIL" }
        if !failed.isEmpty {
            markdown += ["### Failed trials", "", "| trial | reason |", "|---|---|"]
            markdown += failed.map { "| \($0.number) | \(($0.note ?? "").replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")) |" }
            markdown.append("")
        }
        markdown += ["### Plots", "", "![Optimisation history](history.svg)", "", "![Val AUC against AUC gap](pareto.svg)", "",
                     "![Mask-bit frequency among the top quarter of trials](mask-frequency.svg)", "",
                     "Every trial: [trials.csv](trials.csv).", ""]
    }

    /// The best trial (or, for two objectives, the Pareto member best in the first) and its mask.
    private mutating func addBest(_ setup: StudySetup, rows: [TrialRow]) throws {
        guard let best = try? setup.chosenTrial("best"), let row = rows.first(where: { $0.number == best.number }) else {
            markdown += ["No COMPLETE trial yet.", ""]
            return
        }
        let values = (row.values ?? []).map { String(format: "%.4f", $0) }.joined(separator: ", ")
        markdown += ["### Best trial: \(row.number)", "",
                     "Objective \(values); lr \(row.lr.map { "\($0)" } ?? "?"); mask `\(row.mask ?? "-")`"
                        + (row.trainablePercent.map { String(format: "; %.2f%% of parameters trained", $0) } ?? ""), ""]
        if let mask = row.mask {
            let grid = ReportPlots.maskGrid(mask.map { $0 == "1" ? 1.0 : 0.0 }, tuning: setup.tuning)
            markdown += ["| block | " + grid.columns.joined(separator: " | ") + " |",
                         "|---|" + grid.columns.map { _ in "---|" }.joined()]
            for (name, cells) in zip(grid.rows, grid.values) {
                markdown.append("| \(name) | " + cells.map { ($0 ?? 0) >= 0.5 ? "trained" : "·" }.joined(separator: " | ") + " |")
            }
            try write("mask.svg", ReportPlots.mask(mask, trial: row.number, tuning: setup.tuning))
            markdown += ["", "![Mask of the best trial](mask.svg)", ""]
        }
    }

    /// The stage-2 section from DIR/summary.json: the table with intervals and the paired differences.
    mutating func addFinetune(_ directory: String) throws {
        let path = "\(directory)/summary.json"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw FinetuneError(message: "\(path): missing; run fairtune finetune until every run has finished first")
        }
        let summary: JSONValue
        do { summary = try JSONValue.parse(text) } catch { throw FinetuneError(message: "\(path): not valid JSON (\(error))") }
        guard summary["format"]?.stringValue == "fairtune-finetune-summary" else {
            throw FinetuneError(message: "\(path): not a fairtune finetune summary (format fairtune-finetune-summary expected)")
        }
        try write("finetune.csv", ReportStage2.csv(summary))
        try write("group-auc.svg", ReportPlots.groupAUC(summary))
        markdown += ReportStage2.markdown(summary)
        markdown += ["![Per-group test AUC](group-auc.svg)", "", "Every run: [finetune.csv](finetune.csv).", ""]
    }
}
