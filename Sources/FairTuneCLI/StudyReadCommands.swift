import Arguments
import Foundation
import JSON
import Search
import StudyRunner

/// Opens a study for reading (nothing is written) with its fairtune configuration.
private func openStudy(_ args: ParsedArguments) throws -> (study: Study, configuration: StudyConfiguration, directory: String) {
    let path = try args.requiredString("study")
    let study = try Study(path: path, workerID: "reader-\(getpid())")
    return (study, try StudyConfiguration(study: study), URL(fileURLWithPath: path).deletingLastPathComponent().path)
}

/// The best trial, or the Pareto set of a two-objective study.
private func bestTrials(_ study: Study) -> [Trial] {
    study.directions.count == 1 ? study.bestTrial.map { [$0] } ?? [] : study.paretoFront
}

/// A trial's number, values, mask, lr and run directory as JSON.
private func trialJSON(_ trial: Trial, configuration: StudyConfiguration, directory: String) -> JSONValue {
    let assignment = try? TrialAssignment(trial: trial, configuration: configuration)
    let runDirectory = trial.userAttribute(StudyAttributeKey.runDirectory)?.stringValue ?? "trials/\(trial.number)"
    return .object([
        ("number", .number(Double(trial.number))),
        ("state", .string("\(trial.state)")),
        ("values", trial.values.map { .array($0.map { .number($0) }) } ?? .null),
        ("mask", assignment?.mask.map { .string($0) } ?? .null),
        ("lr", trial.param("lr").map { .number($0) } ?? .null),
        ("head_lr_multiplier", trial.param(StudyConfiguration.headMultiplierParameter).map { .number($0) } ?? .null),
        ("run_directory", .string(directory + "/" + runDirectory)),
    ])
}

let studyBestCommand = Command(CommandSpec(
    name: "fairtune study best",
    summary: "The best COMPLETE trial of a study (the Pareto set of a two-objective study): number, value(s), mask, lr and run directory.",
    options: [
        .value("study", "FILE", "the study journal", required: true),
        .flag("json", "print JSON: {study, objectives, directions, best_trials: [{number, state, values, mask, lr, head_lr_multiplier, run_directory}]}"),
    ]
)) { args in
    let (study, configuration, directory) = try openStudy(args)
    let best = bestTrials(study)
    guard !best.isEmpty else {
        printError("error: study \"\(study.name)\" has no COMPLETE trial yet (\(study.trials.count) trial(s) so far)")
        return ExitStatus.failure
    }
    if args.flag("json") {
        print(JSONValue.object([
            ("study", .string(study.name)),
            ("objectives", .array(configuration.objectives.map { .string($0.rawValue) })),
            ("directions", .array(study.directions.map { .string($0 == .maximize ? "maximize" : "minimize") })),
            ("best_trials", .array(best.map { trialJSON($0, configuration: configuration, directory: directory) })),
        ]).rendered())
        return ExitStatus.success
    }
    print(best.count == 1 ? "best trial of study \"\(study.name)\":" : "Pareto set of study \"\(study.name)\" (\(best.count) trials):")
    for trial in best {
        let values = zip(configuration.objectives, trial.values ?? []).map { "\($0.rawValue) \(String(format: "%.6g", $1))" }
        let json = trialJSON(trial, configuration: configuration, directory: directory)
        print("  trial \(trial.number): " + values.joined(separator: ", ")
            + (json["mask"]?.stringValue.map { "; mask \($0)" } ?? "") + "; lr \(json["lr"]?.doubleValue ?? .nan)"
            + (json["head_lr_multiplier"]?.doubleValue.map { "; head lr x \($0)" } ?? "")
            + "; run directory \(json["run_directory"]?.stringValue ?? "")")
    }
    return ExitStatus.success
}

let studyStatusCommand = Command(CommandSpec(
    name: "fairtune study status",
    summary: "A study's progress: trials per state, the running trials with their worker and heartbeat age, the best so far, how many remain.",
    options: [.value("study", "FILE", "the study journal", required: true)]
)) { args in
    let (study, configuration, directory) = try openStudy(args)
    let settings = try study.settings()
    let trials = study.trials
    let counts = [TrialState.complete, .pruned, .fail, .running, .waiting].map { state in
        "\(trials.filter { $0.state == state }.count) \(state)"
    }
    let finished = study.finishedCount
    print("study \"\(study.name)\": \(trials.count) trial(s): " + counts.joined(separator: ", "))
    print("finished \(finished) of \(settings.finishedTrialsWanted) wanted; \(max(0, settings.finishedTrialsWanted - finished)) remain")
    let now = JournalTime.nowSeconds()
    for trial in trials where trial.state == .running {
        let worker = trial.systemAttribute(Study.Key.worker)?.stringValue ?? "an Optuna worker"
        let beat = trial.systemAttribute(Study.Key.heartbeat)?.stringValue.flatMap(JournalTime.seconds)
        let age = beat.map { String(format: "heartbeat %.0f s ago", now - $0) } ?? "no heartbeat"
        let stale = beat.map { now - $0 > settings.gracePeriod } ?? false
        print("  running: trial \(trial.number), worker \(worker), \(age)" + (stale ? " (stale: the next worker to ask fails and retries it)" : ""))
    }
    for trial in bestTrials(study) {
        let json = trialJSON(trial, configuration: configuration, directory: directory)
        let values = zip(configuration.objectives, trial.values ?? []).map { "\($0.rawValue) \(String(format: "%.6g", $1))" }
        print("  best so far: trial \(trial.number): " + values.joined(separator: ", ") + "; lr \(json["lr"]?.doubleValue ?? .nan)"
            + (json["mask"]?.stringValue.map { "; mask \($0)" } ?? ""))
    }
    return ExitStatus.success
}
