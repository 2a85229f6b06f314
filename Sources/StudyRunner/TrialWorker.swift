import Distributed
import Foundation
import Search
import Training

/// What `fairtune study work` is asked to do.
public struct WorkerOptions: Sendable {
    /// The study journal.
    public var studyPath: String
    /// The stable id recorded on the trials this worker runs (a restarted worker with the same id resumes its trial).
    public var workerID: String
    /// Stop after this many trials ended here (nil: no limit).
    public var maxTrials: Int?
    /// Start no trial after this many seconds (nil: no limit); a running trial is not interrupted.
    public var untilSeconds: Double?
    /// Seconds between asks while every remaining trial runs elsewhere.
    public var pollSeconds: Double

    public init(studyPath: String, workerID: String, maxTrials: Int? = nil, untilSeconds: Double? = nil, pollSeconds: Double = 1) {
        self.studyPath = studyPath
        self.workerID = workerID
        self.maxTrials = maxTrials
        self.untilSeconds = untilSeconds
        self.pollSeconds = pollSeconds
    }
}

/// How a worker ended.
public enum WorkerEnding: Equatable, Sendable {
    /// The study is complete, or this worker's limits are reached.
    case finished(message: String)
    /// A stop was requested (SIGTERM/SIGUSR1); a trial in progress is checkpointed and stays RUNNING with its owner.
    case stopped
}

/// The worker loop of a study: rank 0 asks the journal for a trial and broadcasts its parameters;
/// every rank trains it in-process into `DIR/trials/<number>/`; rank 0 reports each epoch's
/// objective (the pruner may stop the trial), records a heartbeat every interval and finishes the
/// trial COMPLETE, PRUNED or FAIL with its results as user attrs.
public final class TrialWorker {
    /// Builds a trial's settings from the study's training arguments, the trial's parameters and run directory.
    public typealias SettingsMaker = (_ arguments: [String], _ assignment: TrialAssignment, _ runDirectory: String) throws -> TrainingSettings

    let options: WorkerOptions
    let world: Communicator
    let version: String
    let makeSettings: SettingsMaker
    let say: (String) -> Void
    let warn: @Sendable (String) -> Void
    let stopRequested: () -> Bool
    /// Rank 0's journal state (nil on other ranks and until opened).
    var coordinator: Coordinator?
    /// A journal failure on rank 0 after a trial, reported to every rank with the next order.
    var pendingFailure: String?
    let started = Date()
    /// Trials that ended here (any state), for --max-trials.
    public private(set) var trialsEnded = 0

    /// - Parameters: say: rank 0's messages; warn: warnings (any rank); stopRequested: polled between trials
    ///   and by the trainer after every step (default: SIGTERM/SIGUSR1 received).
    public init(options: WorkerOptions, world: Communicator, version: String, makeSettings: @escaping SettingsMaker,
                say: @escaping (String) -> Void, warn: @escaping @Sendable (String) -> Void,
                stopRequested: @escaping () -> Bool = { StopRequest.isRequested }) {
        self.options = options
        self.world = world
        self.version = version
        self.makeSettings = makeSettings
        self.say = say
        self.warn = warn
        self.stopRequested = stopRequested
    }

    /// Works until the study is complete, a limit is reached or a stop is requested.
    /// - Throws: `StudyRunnerError` (rank 0 throws the message; other ranks the same, to exit alike),
    ///   training and MPI errors.
    public func run() throws -> WorkerEnding {
        while true {
            var order: WorkOrder?
            if world.isRoot { order = nextOrderCatchingErrors() }
            switch try WorkOrder.broadcast(order, world: world) {
            case let .wait(seconds):
                Thread.sleep(forTimeInterval: seconds)
            case let .finish(message):
                return .finished(message: message)
            case .stop:
                return .stopped
            case let .fail(message):
                throw StudyRunnerError.workerFailed(message: message)
            case let .train(number, assignment, arguments, runDirectory):
                let ending = try train(number: number, assignment: assignment, arguments: arguments, runDirectory: runDirectory)
                if case .stopped = ending { return .stopped }
                trialsEnded += 1
            }
        }
    }

    private func nextOrderCatchingErrors() -> WorkOrder {
        if let failure = pendingFailure { return .fail(message: failure) }
        do { return try nextOrder() } catch { return .fail(message: "\(error)") }
    }

    /// Rank 0: the trial this worker owns (a restarted worker), else the limits, else the study's next trial.
    private func nextOrder() throws -> WorkOrder {
        let coordinator = try self.coordinator ?? openStudy()
        self.coordinator = coordinator
        if stopRequested() { return .stop }
        if let trial = try coordinator.study.resume() {
            say("resuming trial \(trial.number), which this worker (\(options.workerID)) was running")
            return try coordinator.order(for: trial)
        }
        if let limit = options.maxTrials, trialsEnded >= limit {
            return .finish(message: "reached --max-trials \(limit)")
        }
        if let until = options.untilSeconds, Date().timeIntervalSince(started) >= until {
            return .finish(message: "reached --until \(until) s; no new trial started")
        }
        switch try coordinator.study.ask(sampler: coordinator.sampler) {
        case let .trial(trial): return try coordinator.order(for: trial)
        case .wait: return .wait(seconds: options.pollSeconds)
        case .complete:
            return .finish(message: "the study has its \(try coordinator.study.settings().finishedTrialsWanted) finished trials")
        }
    }

    /// Opens the study and checks that this version can build its trials' settings, before any trial is claimed.
    private func openStudy() throws -> Coordinator {
        let opened = try Coordinator(path: options.studyPath, workerID: options.workerID)
        let configuration = opened.configuration
        let mask = configuration.maskLength > 0 ? String(repeating: "1", count: configuration.maskLength) : nil
        do {
            _ = try makeSettings(configuration.trainArguments, TrialAssignment(mask: mask, learningRate: "\(configuration.lrRange.low)"),
                                 opened.directory + "/trials/check")
        } catch {
            throw StudyRunnerError.studySetting(path: options.studyPath, key: StudyAttributeKey.trainArguments,
                                                message: "this fairtune (\(version)) cannot train with them: \(error)")
        }
        return opened
    }
}
