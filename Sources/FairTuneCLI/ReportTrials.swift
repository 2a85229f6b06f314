import Foundation
import JSON
import Search
import Training

/// One trial as the report shows it: the journal's record joined with its run directory's result.json.
struct TrialRow {
    let number: Int
    let state: String
    let values: [Double]?
    let mask: String?
    let lr: Double?
    let trainablePercent: Double?
    let valAUC: Double?
    /// Validation AUC per group of the study's attribute, in `groups` order (nil where missing).
    let groupAUC: [Double?]
    let worstGroupAUC: Double?
    let aucGap: Double?
    let seconds: Double?
    let worker: String?
    let runDirectory: String?
    /// Why a FAIL trial failed (or why its metrics are missing), as recorded.
    let note: String?

    /// Rows of every trial, and the attribute's groups in the order of the first run that lists them.
    static func read(_ setup: StudySetup) -> (rows: [TrialRow], groups: [String]) {
        var groups: [String] = []
        var results: [Int: JSONValue] = [:]
        for trial in setup.trials {
            guard let directory = setup.runDirectory(of: trial),
                  let result = FinetunePlan.result(of: directory) else { continue }
            results[trial.number] = result
            for name in attributeReport(result["val"], setup.attribute)?["groups"]?.arrayValue?.compactMap({ $0["name"]?.stringValue }) ?? []
                where !groups.contains(name) {
                groups.append(name)
            }
        }
        let rows = setup.trials.map { trial in row(trial, setup: setup, result: results[trial.number], groups: groups) }
        return (rows, groups)
    }

    private static func attributeReport(_ report: JSONValue?, _ name: String) -> JSONValue? {
        report?["attributes"]?.arrayValue?.first { $0["name"]?.stringValue == name }
    }

    private static func row(_ trial: Trial, setup: StudySetup, result: JSONValue?, groups: [String]) -> TrialRow {
        let val = result?["val"]
        let attribute = attributeReport(val, setup.attribute)
        let groupValues = attribute?["groups"]?.arrayValue ?? []
        let groupAUC = groups.map { name in
            groupValues.first { $0["name"]?.stringValue == name }?["auc"]?["value"]?.doubleValue
        }
        var seconds: Double?
        if let start = trial.startText.flatMap(JournalTime.seconds), let end = trial.completeText.flatMap(JournalTime.seconds) {
            seconds = end - start
        }
        return TrialRow(number: trial.number, state: StudySetup.stateName(trial.state), values: trial.values,
                        mask: StudySetup.mask(of: trial), lr: trial.param("lr"),
                        trainablePercent: result?["trainable_percent"]?.doubleValue,
                        valAUC: val?["overall"]?["auc"]?["value"]?.doubleValue, groupAUC: groupAUC,
                        worstGroupAUC: attribute?["summaries"]?["auc"]?["worst"]?["value"]?.doubleValue,
                        aucGap: attribute?["summaries"]?["auc"]?["gap"]?["value"]?.doubleValue,
                        seconds: seconds, worker: trial.systemAttribute(Study.Key.worker)?.stringValue,
                        runDirectory: setup.runDirectory(of: trial), note: note(trial, result: result))
    }

    /// A failed trial's reason: Optuna's `fail_reason` system attribute, a fairtune user attribute
    /// naming an error or failure, or the run's own message; nil for a trial that did not fail.
    private static func note(_ trial: Trial, result: JSONValue?) -> String? {
        guard trial.state == .fail else { return nil }
        if let reason = trial.systemAttribute("fail_reason")?.stringValue { return reason }
        let keys = trial.userAttributes.map(\.key).filter { $0.contains("fail") || $0.contains("error") || $0.contains("reason") }
        if let key = keys.last, let text = trial.userAttribute(key)?.stringValue { return text }
        if let heartbeat = trial.systemAttribute(Study.Key.heartbeat)?.stringValue, result == nil {
            return "failed as stale: no heartbeat after \(heartbeat) (its worker stopped)"
        }
        if let message = result?["message"]?.stringValue, !message.isEmpty { return message }
        return "no reason recorded"
    }
}

extension TrialRow {
    static func csvField(_ x: Double?) -> String { x.map { "\($0)" } ?? "" }

    /// trials.csv: a header and one line per trial (docs/results.md).
    static func csv(_ rows: [TrialRow], groups: [String], objectives: [String]) -> String {
        let objectiveColumns = objectives.count == 1 ? ["objective"] : objectives.indices.map { "objective_\($0 + 1)" }
        let header = ["number", "state"] + objectiveColumns + ["mask", "lr", "trainable_percent", "val_auc"]
            + groups.map { "val_auc_\($0)" } + ["val_worst_group_auc", "val_auc_gap", "seconds", "worker", "run_directory", "fail_reason"]
        var lines = [header.map(csvQuote).joined(separator: ",")]
        for r in rows {
            let values = objectives.indices.map { i in csvField(r.values.flatMap { i < $0.count ? $0[i] : nil }) }
            let fields = ["\(r.number)", r.state] + values + [r.mask ?? "", csvField(r.lr), csvField(r.trainablePercent), csvField(r.valAUC)]
                + r.groupAUC.map(csvField) + [csvField(r.worstGroupAUC), csvField(r.aucGap), csvField(r.seconds), r.worker ?? "",
                                               r.runDirectory ?? "", r.note ?? ""]
            lines.append(fields.map(csvQuote).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// RFC 4180 quoting when a field needs it.
func csvQuote(_ field: String) -> String {
    guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
    return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
