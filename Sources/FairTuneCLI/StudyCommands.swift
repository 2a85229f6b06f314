import Arguments
import Distributed
import Foundation
import Search
import StudyRunner
import Tensor
import Training

/// `fairtune study create`: a new study journal whose every trial trains with the same `fairtune train` options.
let studyCreateCommand = Command(CommandSpec(
    name: "fairtune study create",
    summary: """
        Create a FairTune study: a journal in Optuna's JournalFileBackend format whose trials search one
        int 'Mask Idx i' in {0, 1} per mask bit of --tuning and a log-uniform 'lr' (a method without a mask
        searches lr only). The fairtune train options given here are stored in the study and used by every
        trial; they are checked (data, weights, attributes) before anything is written. --lr, --mask and
        --out are set per trial. Start workers with 'fairtune study work --study FILE'.
        """,
    options: StudyOptions.createSpecs
)) { args in
    let path = try args.requiredString("study")
    let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
    let trialsDirectory = directory + "/trials"
    let force = args.flag("force")
    if !force {
        if FileManager.default.fileExists(atPath: path) {
            throw StudyRunnerError.invalidSetting(option: "study", message: "\(path) exists; choose another file or replace it (--force)")
        }
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: trialsDirectory), !entries.isEmpty {
            throw StudyRunnerError.invalidSetting(option: "study", message: "\(trialsDirectory) holds run directories of "
                + "another study; choose another folder or replace them (--force)")
        }
    }
    let configuration = try studyConfiguration(args, checkDirectory: trialsDirectory + "/create-check")
    let heartbeat = try StudyOptions.heartbeat(args)
    let settings = StudySettings(finishedTrialsWanted: try args.int("trials", in: 1...10_000_000)!,
                                 heartbeatInterval: heartbeat.interval, gracePeriod: heartbeat.grace,
                                 searchSpace: configuration.searchSpace)
    let name = args.string("study-name") ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    if force, FileManager.default.fileExists(atPath: trialsDirectory) { try FileManager.default.removeItem(atPath: trialsDirectory) }
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try Study.create(path: path, name: name, directions: configuration.directions, settings: settings,
                     userAttributes: configuration.userAttributes, replace: force, workerID: "create")
    print("created study \"\(name)\" in \(path): \(settings.finishedTrialsWanted) finished trials wanted, objective "
        + configuration.objectives.map(\.rawValue).joined(separator: ", ") + " on '\(configuration.objectiveAttribute)'")
    print("search space: " + (configuration.maskLength > 0 ? "Mask Idx 0...\(configuration.maskLength - 1) in {0, 1}, " : "")
        + "lr log-uniform in [\(configuration.lrRange.low), \(configuration.lrRange.high)]"
        + (configuration.headMultiplierRange.map { ", head_lr_multiplier log-uniform in [\($0.low), \($0.high)]" } ?? ""))
    print("start workers with: fairtune study work --study \(path)")
    return ExitStatus.success
}

/// The search configuration of `study create`, after checking the training options as `fairtune train`
/// would: the dataset, the weights (for the mask length), the attributes.
private func studyConfiguration(_ args: ParsedArguments, checkDirectory: String) throws -> StudyConfiguration {
    let objectives = try SearchObjective.parseList(try args.requiredString("objective"))
    let lrRange = try StudyOptions.learningRateRange(args)
    let pruner = StudyConfiguration.PrunerKind(rawValue: try args.choice("pruner", StudyConfiguration.PrunerKind.allCases.map(\.rawValue))!)!
    if objectives.count == 2 && pruner != .none {
        throw StudyRunnerError.invalidSetting(option: "pruner", message: "a two-objective study cannot prune (Optuna has no "
            + "intermediate values for several objectives); use --pruner none")
    }
    let trainArguments = StudyOptions.trainArguments(args)
    let world = try MPICommunicator.world()
    defer { world.finalize() }
    let settings = try TrainOptions.settings(stored: trainArguments, replacing: [(name: "lr", value: "\(lrRange.low)"),
                                                                                 (name: "out", value: checkDirectory)], world: world)
    // Loads the dataset and the weights exactly as a trial will (nothing is written).
    let trainer = try Trainer(settings: settings, version: fairtuneVersion, world: world, say: { _ in }, warn: { printError($0) })
    let attribute = args.string("objective-attribute") ?? settings.attributes[0]
    guard settings.attributes.contains(attribute) else {
        throw StudyRunnerError.invalidSetting(option: "objective-attribute", message: "'\(attribute)' is not among the "
            + "--attribute values (\(settings.attributes.joined(separator: ", "))); the trials report only those")
    }
    return StudyConfiguration(
        version: fairtuneVersion, trainArguments: trainArguments, objectives: objectives, objectiveAttribute: attribute,
        sampler: .init(rawValue: try args.choice("sampler", StudyConfiguration.SamplerKind.allCases.map(\.rawValue))!)!,
        startupTrials: try args.int("startup-trials", in: 0...1_000_000)!, pruner: pruner,
        seed: UInt64(try args.int("seed", in: 0...(1 << 53))!), lrRange: lrRange, tuning: settings.method.rawValue,
        maskLength: settings.method.maskLength(depth: trainer.model.config.depth),
        headMultiplierRange: try StudyOptions.headMultiplierRange(args))
}

/// `fairtune study work`: one worker (possibly several MPI ranks) of a study.
let studyWorkCommand = Command(CommandSpec(
    name: "fairtune study work",
    summary: """
        Run trials of a study until it has its finished trials (exit 0), --max-trials or --until is reached
        (exit 0), or SIGTERM/SIGUSR1 arrives (exit 75: the running trial is checkpointed and stays RUNNING;
        the same --worker-id restarted resumes it). Under mpirun/srun every rank trains each trial; rank 0
        alone reads and writes the journal. Many workers may share one study.
        """,
    options: [
        .value("study", "FILE", "the study journal (made by fairtune study create)", required: true),
        .value("max-trials", "K", "stop after K trials ended in this worker"),
        .value("until", "SECONDS", "start no trial after SECONDS from the start (a running trial finishes)"),
        .value("worker-id", "ID", "this worker's id (default: SLURM_ARRAY_JOB_ID_SLURM_ARRAY_TASK_ID, else host-pid)"),
    ]
)) { args in
    let world = try MPICommunicator.world()
    defer { world.finalize() }
    StopRequest.install()
    let options = WorkerOptions(studyPath: try args.requiredString("study"),
                                workerID: args.string("worker-id") ?? StudyOptions.defaultWorkerID(),
                                maxTrials: try args.int("max-trials", in: 1...100_000_000),
                                untilSeconds: try args.double("until", in: 0...1e9))
    let isRoot = world.isRoot
    let worker = TrialWorker(options: options, world: world, version: fairtuneVersion, makeSettings: { arguments, assignment, out in
        var replacing: [(name: String, value: String?)] = [("lr", assignment.learningRate), ("out", out)]
        if let mask = assignment.mask { replacing.append(("mask", mask)) }
        if let multiplier = assignment.headMultiplier { replacing.append(("head-lr-multiplier", multiplier)) }
        let settings = try TrainOptions.settings(stored: arguments, replacing: replacing, world: world)
        ParallelRows.useOwnThreads(settings.threads)
        return settings
    }, say: { text in if isRoot { print(text); fflush(nil) } }, warn: { text in if isRoot { printError(text) } })
    do {
        switch try worker.run() {
        case let .finished(message):
            if isRoot { print("worker \(options.workerID): \(message); \(worker.trialsEnded) trial(s) ended here") }
            return ExitStatus.success
        case .stopped:
            if isRoot { print("worker \(options.workerID): stopped by \(StopRequest.signal.map(StopRequest.name(of:)) ?? "a stop request")") }
            return ExitStatus.resumable
        }
    } catch let error as CollectiveSetupError {
        if let message = error.message { printError(message) }
        return ExitStatus.failure
    } catch StudyRunnerError.workerFailed(let message) {
        if isRoot { printError("error: \(message)") }
        return ExitStatus.failure
    } catch {
        printError("\(isRoot ? "" : "[rank \(world.rank)/\(world.size)] ")error: \(error)")
        if world.size > 1 { world.abort(code: ExitStatus.failure) }
        return ExitStatus.failure
    }
}
