import Distributed
import Search
import Training

/// Rank 0's epoch callback: reports the objective as the epoch's intermediate value and asks the pruner.
final class EpochReporter {
    let study: Study
    let number: Int
    /// nil for a two-objective study (Optuna has no intermediate values there).
    let objective: SearchObjective?
    let attribute: String
    let pruner: (any Pruner)?
    let heartbeat: Heartbeat
    /// The trial stopped being RUNNING (failed as stale elsewhere): its result is dropped.
    private(set) var lost = false
    /// A journal error while reporting; the trial stops and the worker reports it.
    private(set) var failure: Error?

    init(coordinator: Coordinator, number: Int, heartbeat: Heartbeat) {
        study = coordinator.study
        self.number = number
        let objectives = coordinator.configuration.objectives
        objective = objectives.count == 1 ? objectives[0] : nil
        attribute = coordinator.configuration.objectiveAttribute
        pruner = coordinator.pruner
        self.heartbeat = heartbeat
    }

    var isLost: Bool { lost || heartbeat.lost }

    func afterEpoch(_ summary: Trainer.EpochSummary) -> Trainer.EpochDecision {
        if heartbeat.lost { return .stop }
        // An epoch whose objective is undefined reports nothing (the last epoch's decides the trial).
        guard let objective, let value = try? objective.value(in: summary.validation, attribute: attribute).doubleValue else {
            return .proceed
        }
        do {
            return try study.report(trialNumber: number, step: summary.epoch, value: value, pruner: pruner) ? .stop : .proceed
        } catch .trialNotRunning {
            lost = true
            return .stop
        } catch {
            failure = error
            return .stop
        }
    }
}

extension TrialWorker {
    /// Trains one trial on every rank; rank 0 beats, reports and records.
    func train(number: Int, assignment: TrialAssignment, arguments: [String], runDirectory: String) throws -> Trainer.Outcome.Ending {
        let isRoot = world.isRoot
        let trainer: Trainer
        do {
            trainer = try agreeOnSetup(world: world) {
                let settings = try makeSettings(arguments, assignment, runDirectory)
                return try Trainer(settings: settings, version: version, world: world, say: isRoot ? say : { _ in }, warn: warn,
                                   stopRequested: stopRequested)
            }
        } catch {
            if isRoot { coordinator?.failSetup(number, error: error, say: say) }
            throw error
        }
        var heartbeat: Heartbeat?
        var reporter: EpochReporter?
        if isRoot, let coordinator {
            say("trial \(number): lr \(assignment.learningRate)" + (assignment.mask.map { ", mask \($0)" } ?? "") + ", run directory \(runDirectory)")
            let beat = Heartbeat(path: options.studyPath, workerID: options.workerID, trialNumber: number,
                                 interval: coordinator.settings.heartbeatInterval, warn: warn)
            heartbeat = beat
            reporter = EpochReporter(coordinator: coordinator, number: number, heartbeat: beat)
        }
        let outcome: Trainer.Outcome
        do {
            outcome = try trainer.run(afterEpoch: reporter.map { r in { r.afterEpoch($0) } })
        } catch {
            heartbeat?.stop()
            throw error
        }
        heartbeat?.stop()
        if let coordinator, let reporter {
            if reporter.isLost {
                say("trial \(number) was failed as stale by another worker meanwhile; its result is dropped (its retry counts instead)")
            } else if let failure = reporter.failure {
                pendingFailure = "\(failure)"
            } else {
                do {
                    try coordinator.record(outcome, number: number, assignment: assignment, runDirectory: runDirectory,
                                           epochs: trainer.settings.epochs, say: say)
                } catch {
                    pendingFailure = "\(error)"
                }
            }
        }
        return outcome.ending
    }
}
