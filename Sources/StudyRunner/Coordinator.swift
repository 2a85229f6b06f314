import Foundation
import JSON
import Metrics
import Search
import Training

/// Rank 0's side of a worker: the study handle, its configuration, sampler and pruner, and the
/// recording of a finished trial.
final class Coordinator {
    let study: Study
    let configuration: StudyConfiguration
    let settings: StudySettings
    let sampler: any Sampler
    let pruner: (any Pruner)?
    /// The study file's folder; trials train into `trials/<number>` below it.
    let directory: String

    init(path: String, workerID: String) throws {
        study = try Study(path: path, workerID: workerID)
        configuration = try StudyConfiguration(study: study)
        settings = try study.settings()
        sampler = configuration.makeSampler()
        pruner = configuration.directions.count == 1 ? configuration.makePruner() : nil
        directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
    }

    /// The order to train `trial`.
    func order(for trial: Trial) throws(StudyRunnerError) -> WorkOrder {
        .train(number: trial.number, assignment: try TrialAssignment(trial: trial, configuration: configuration),
               arguments: configuration.trainArguments, runDirectory: directory + "/" + Self.runDirectory(trial.number))
    }

    /// A trial's run directory relative to the study file's folder.
    static func runDirectory(_ number: Int) -> String { "trials/\(number)" }

    /// Records how trial `number` ended: results as user attrs, then COMPLETE, PRUNED or FAIL. A trial another
    /// worker failed as stale meanwhile is dropped (its retry counts instead); a stopped one stays RUNNING.
    func record(_ outcome: Trainer.Outcome, number: Int, assignment: TrialAssignment, runDirectory: String,
                epochs: Int, say: (String) -> Void) throws {
        if case .stopped = outcome.ending {
            say("trial \(number) stopped and checkpointed; it stays RUNNING for this worker id to resume")
            return
        }
        do {
            for attribute in resultAttributes(outcome, number: number, assignment: assignment, runDirectory: runDirectory, epochs: epochs) {
                try study.setUserAttribute(trialNumber: number, key: attribute.key, value: attribute.value)
            }
            switch outcome.ending {
            case .completed, .alreadyCompleted:
                do {
                    let values = try objectiveValues(outcome.validation)
                    let trial = try study.tell(trialNumber: number, state: .complete, values: values)
                    say("trial \(number): \(trial.state) \(values.map { String(format: "%.6g", $0) }.joined(separator: ", "))")
                } catch let undefined as UndefinedObjective {
                    try fail(number, reason: undefined.reason, say: say)
                }
            case let .pruned(epoch):
                try study.tell(trialNumber: number, state: .pruned)
                say("trial \(number): PRUNED after epoch \(epoch)")
            case let .diverged(message):
                try fail(number, reason: message, say: say)
            case .stopped:
                break
            }
        } catch StudyError.trialNotRunning {
            say("trial \(number) was failed as stale by another worker meanwhile; its result is dropped (its retry counts instead)")
        }
    }

    private func fail(_ number: Int, reason: String, say: (String) -> Void) throws(StudyError) {
        try study.setUserAttribute(trialNumber: number, key: StudyAttributeKey.failReason, value: .string(reason))
        try study.tell(trialNumber: number, state: .fail)
        say("trial \(number): FAIL: \(reason)")
    }

    /// Fails trial `number` when it could not be set up, if it is still RUNNING.
    func failSetup(_ number: Int, error: Error, say: (String) -> Void) {
        try? fail(number, reason: "the trial could not be set up: \(error)", say: say)
    }

    struct UndefinedObjective: Error { let reason: String }

    /// One value per objective of the last validation report.
    /// - Throws: `UndefinedObjective` with the reason when one is undefined (never a made-up number).
    func objectiveValues(_ report: MetricsReport?) throws -> [Double] {
        guard let report else {
            throw UndefinedObjective(reason: "the run directory holds a run completed in an earlier session whose "
                + "validation report this worker did not see")
        }
        let attribute = configuration.objectiveAttribute
        return try configuration.objectives.map { objective in
            let value: MetricValue
            do { value = try objective.value(in: report, attribute: attribute) } catch {
                throw UndefinedObjective(reason: "objective \(objective.rawValue): \(error)")
            }
            switch value {
            case let .value(x): return x
            case let .undefined(reason):
                throw UndefinedObjective(reason: "objective \(objective.rawValue) on attribute '\(attribute)' is undefined on the validation split: \(reason)")
            }
        }
    }
}
