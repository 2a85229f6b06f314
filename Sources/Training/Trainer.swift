import Dataset
import Distributed
import FileOutput
import Foundation
import Metrics
import JSON
import Optimization
import Tensor
import RunLock
import ViT

/// Data-parallel fine-tuning of a ViT over MPI ranks, with validation metrics every epoch,
/// checkpoints and exact resume. Every rank runs the same `Trainer`; only rank 0 writes files
/// and prints.
///
/// The layers: `DataParallelStep` (one optimizer step, the same on every rank) inside an epoch
/// loop (`trainEpoch`, then `finishEpoch`: validation, metrics line, best epoch, checkpoint), inside
/// `run` (finished, resume or fresh start; the final evaluation and result.json).
public final class Trainer {
    /// How a run ended, with the reports a caller (the study worker, stage 2) needs.
    public struct Outcome: Sendable {
        public enum Ending: Equatable, Sendable {
            /// Every epoch trained and evaluated; result.json written.
            case completed
            /// The run directory already holds a completed run; nothing was trained.
            case alreadyCompleted
            /// A stop was requested (SIGTERM/SIGUSR1): checkpointed, resumable.
            case stopped(signal: String)
            /// Loss or gradients became non-finite; result.json says so.
            case diverged(message: String)
            /// The epoch callback asked to stop after `epoch` epochs (a pruned trial); result.json says so.
            case pruned(epoch: Int)
        }

        public var ending: Ending
        /// The last validation report (rank 0; nil elsewhere and when nothing was evaluated).
        public var validation: MetricsReport?
        /// With `--keep-best`: the best epoch and its validation report (the report only when that
        /// epoch was evaluated in this session).
        public var bestEpoch: Int?
        public var bestValidation: MetricsReport?
        /// The test report of a completed run with `--test` (rank 0).
        public var test: MetricsReport?

        init(_ ending: Ending) { self.ending = ending }
    }

    /// What the epoch callback sees: the epoch just finished (1-based) and its validation report.
    public struct EpochSummary: Sendable {
        public var epoch: Int
        public var trainLoss: Double
        public var validation: MetricsReport
    }

    /// The epoch callback's answer.
    public enum EpochDecision: Sendable { case proceed, stop }

    public let settings: TrainingSettings
    /// The software version recorded in run files.
    public let version: String
    let world: Communicator
    let files: RunFiles
    let say: (String) -> Void
    let warn: (String) -> Void
    let stopRequested: () -> Bool

    // Data and model, set up by `init`.
    let dataset: PreparedDataset
    let trainSplit: DatasetSplit
    let valSplit: DatasetSplit
    let testSplit: DatasetSplit?
    let attributeIndices: [Int]
    /// The model being trained (pretrained weights, fresh head, the trainable set of the settings).
    public let model: VisionTransformer
    /// Resolved class weights (nil: unweighted).
    public let classWeights: [Double]?
    let groups: [ParameterGroup]
    let optimizer: Optimizer
    let schedule: LearningRateSchedule
    let localBatch: Int
    let trainLoader: BatchLoader
    let evalLoader: (DatasetSplit) -> BatchLoader
    /// Optimizer steps per epoch (the last partial global batch is dropped).
    public let stepsPerEpoch: Int
    let trainableFingerprint: String
    /// The normalisation in use and where it came from (config.json records both).
    let normalization: (mean: [Double], std: [Double], source: String)
    /// What every checkpoint records to prove a resume continues this run (`RunFingerprints`).
    let settingsFingerprint: JSONValue
    let datasetFingerprint: JSONValue

    /// The matrix products' modes, chosen at the start of `run` (rank 0's choice on every rank).
    var gemmChoice = GEMMChoice(modes: GEMMModes(.openblasFP32), reason: "not chosen yet", measurements: [])

    /// When this session started, and the wall time of the sessions before it.
    var runStart = Date()
    var previousWallSeconds = 0.0

    /// Loads the data and the model and checks every setting against them (on every rank alike,
    /// so bad input fails everywhere before any collective call). Most callers want
    /// `Trainer.setUp(...)`, which also makes the ranks agree that every one of them succeeded.
    ///
    /// - Parameters:
    ///   - version: the software version recorded in run files.
    ///   - say: rank 0's messages (settings, epoch summaries); other ranks pass a no-op.
    ///   - warn: warnings, raised alike on every rank (a CLI prints rank 0's).
    ///   - stopRequested: polled after every step's backward (default: SIGTERM/SIGUSR1 received).
    /// - Throws: `TrainingError`, `DatasetError`, `ViTError` or `OptimizationError` naming the
    ///   setting, file or field at fault.
    public init(settings: TrainingSettings, version: String, world: Communicator, say: @escaping (String) -> Void,
                warn: @escaping (String) -> Void, stopRequested: @escaping () -> Bool = { StopRequest.isRequested }) throws {
        self.settings = settings
        self.version = version
        self.world = world
        self.say = say
        self.warn = warn
        self.stopRequested = stopRequested
        files = RunFiles(directory: settings.outDirectory)
        guard settings.globalBatchSize >= world.size else {
            throw TrainingError.invalidSetting(setting: "batch-size", message: "the global batch \(settings.globalBatchSize) "
                + "is smaller than the \(world.size) ranks; every rank needs at least one sample per step")
        }
        dataset = try PreparedDataset(directory: settings.dataDirectory)
        trainSplit = try dataset.split("train")
        valSplit = try dataset.split("val")
        testSplit = settings.evaluateTest ? try dataset.split("test") : nil
        attributeIndices = try Self.attributeIndices(settings, known: dataset.attributeNames)
        try Self.checkKeepBest(settings)
        let classes = dataset.manifest.task.classes.count
        let setup = try Self.loadModel(settings, classes: classes, trainSplit: trainSplit, warn: warn)
        model = setup.model
        trainableFingerprint = setup.trainableFingerprint
        classWeights = try Self.resolveClassWeights(settings, trainSplit: trainSplit, classNames: dataset.manifest.task.classes)
        settingsFingerprint = RunFingerprints.settings(settings, resolvedClassWeights: classWeights)
        datasetFingerprint = RunFingerprints.dataset(dataset)
        let noDecay: Double? = settings.decayNormsAndBiases ? nil : 0
        groups = model.trainable.parameterGroups(layout: model.layout, weightDecay: settings.weightDecay,
                                                 normWeightDecay: noDecay, biasWeightDecay: noDecay,
                                                 headLearningRateScale: settings.headLearningRateMultiplier)
        optimizer = try Self.makeOptimizer(settings)
        schedule = try Self.makeSchedule(settings)
        localBatch = (settings.globalBatchSize + world.size - 1) / world.size
        stepsPerEpoch = trainSplit.count / settings.globalBatchSize
        guard stepsPerEpoch >= 1 else {
            throw TrainingError.invalidSetting(setting: "batch-size", message: "the global batch \(settings.globalBatchSize) "
                + "exceeds the \(trainSplit.count) training samples; no full batch to train on")
        }
        try Self.checkMemory(model: model, localBatch: localBatch, settings: settings)
        let size = model.config.imageSize
        // --mean/--std, else what the pretrained weights record, else the dataset manifest's.
        let norm = settings.normalization ?? setup.normalization
            ?? (dataset.manifest.normalization.mean, dataset.manifest.normalization.std)
        normalization = (mean: norm.mean, std: norm.std,
                         source: settings.normalization != nil ? "--mean/--std" : setup.normalization != nil ? "weights" : "manifest")
        let augmentation: ImageTransform
        switch settings.augmentation {
        case .reference: augmentation = .training(size: size, mean: norm.mean, std: norm.std)
        case .flip: augmentation = .flipping(size: size, probability: 0.5, mean: norm.mean, std: norm.std)
        case .none: augmentation = .flipping(size: size, probability: 0, mean: norm.mean, std: norm.std)
        }
        trainLoader = BatchLoader(split: trainSplit, transform: augmentation, batchSize: localBatch, seed: settings.seed,
                                  workers: settings.workers)
        // The reference's evaluation (resize to size/0.875, centre crop) goes with its crop augmentation;
        // with flips or none the model sees whole images, so it is evaluated on whole images too
        // (a centre crop would cut away what it trained on, such as a corner marker at 32 x 32).
        let evalTransform = settings.augmentation == .reference
            ? ImageTransform.evaluation(size: size, mean: norm.mean, std: norm.std)
            : ImageTransform.flipping(size: size, probability: 0, mean: norm.mean, std: norm.std)
        let (batch, workers) = (localBatch, settings.workers)
        evalLoader = { split in BatchLoader(split: split, transform: evalTransform, batchSize: batch, workers: workers) }
    }

    // MARK: - Run

    /// Where a session starts: the checkpoint's position and running sums (zero for a fresh run),
    /// and what it has evaluated so far.
    struct SessionState {
        var position = TrainingCheckpoint.Position(epoch: 0, step: 0, globalStep: 0)
        var progress = TrainingCheckpoint.Progress()
        /// metrics.jsonl's lines up to the position (rank 0).
        var metricsLines: [String] = []
        /// The last validation report and predictions (rank 0).
        var lastValidation: (report: MetricsReport, evaluation: Evaluation)?
        var bestValidation: MetricsReport?
        /// Whether this session evaluated an epoch (every rank).
        var evaluatedAnEpoch = false
        /// The current epoch's training seconds and images (for its metrics line).
        var epochTrainSeconds = 0.0
        var epochImages = 0
    }

    /// Trains (or resumes) to the end, a stop request, divergence or the callback's stop.
    /// - Parameter afterEpoch: called on rank 0 after each epoch's validation; `.stop` ends the run
    ///   there (a pruned trial). Other ranks follow rank 0's answer.
    /// - Throws: file, data and MPI errors; `TrainingError.replicasDiffer` if the ranks' weights part.
    public func run(afterEpoch: ((EpochSummary) -> EpochDecision)? = nil) throws -> Outcome {
        let lock = try lockRunDirectory()
        defer { lock?.release() }
        if let earlier = try earlierEnding() { return earlier }
        try chooseGEMM()
        var state = try startOrResume()
        printSettings()
        try checkReplicas(epoch: state.position.epoch)
        let step = DataParallelStep(model: model, world: world, optimizer: optimizer, groups: groups,
                                    classWeights: classWeights, labelSmoothing: settings.labelSmoothing,
                                    clipGradNorm: settings.clipGradNorm, localBatch: localBatch)
        let reporter = ProgressReporter(style: ProgressReporter.styleForStandardOutput(interval: settings.logInterval))
        runStart = Date()
        previousWallSeconds = state.progress.wallSeconds
        for epoch in state.position.epoch..<settings.epochs {
            if let ending = try trainEpoch(epoch, step: step, reporter: reporter, state: &state) {
                return Outcome(ending)
            }
            if try finishEpoch(epoch, state: &state, afterEpoch: afterEpoch) == .stop {
                return try endPruned(epoch: epoch + 1, state: state)
            }
        }
        return try endCompleted(state: state)
    }

    /// Creates the run directory and takes its lock (rank 0): one writer per run directory, also
    /// across nodes sharing a file system. Every rank learns whether it worked before going on.
    private func lockRunDirectory() throws -> RunDirectoryLock? {
        var lock: RunDirectoryLock?
        var failure: Error?
        if world.isRoot {
            do {
                try files.create()
                lock = try RunDirectoryLock(directory: files.directory)
                for name in AtomicFile.removeAbandonedTemporaries(in: files.directory) {
                    say("removed \(name), left by a run that was killed while writing it")
                }
            } catch { failure = error }
        }
        var failed = [failure == nil ? 0.0 : 1.0]
        try world.broadcast(&failed)
        if let failure { throw failure }
        if failed[0] > 0 {
            throw TrainingError.runFile(path: files.directory, message: "rank 0 could not create or lock the run directory (its message is above)")
        }
        return lock
    }

    /// Rank 0 chooses the matrix products' modes (forced, cached for this CPU in the run folder, or
    /// measured) and every rank uses its choice: ranks must agree on the precision.
    private func chooseGEMM() throws {
        var codes: [Double] = [-1, -1]
        var failure: Error?
        if world.isRoot {
            do {
                let c = model.config
                let workload = GEMMSelection.Workload(batch: localBatch, tokens: c.tokens, width: c.width, mlpWidth: c.mlpWidth, heads: c.heads)
                let candidates = try settings.gemm.candidates(bf16Available: GEMMSelection.onednnBF16Kernel != nil)
                gemmChoice = try GEMMChoice.resolve(candidates: candidates, workload: workload, threads: settings.threads,
                                                    cacheFile: files.gemmSelection)
                codes = [Double(GEMMChoice.code(gemmChoice.modes.linear)), Double(GEMMChoice.code(gemmChoice.modes.attention))]
            } catch { failure = error }
        }
        try world.broadcast(&codes)
        if let failure { throw failure }
        guard let linear = GEMMChoice.mode(code: Int(codes[0])), let attention = GEMMChoice.mode(code: Int(codes[1])) else {
            throw TrainingError.runFile(path: files.directory, message: "rank 0 could not choose the matrix-product library (its message is above)")
        }
        if !world.isRoot { gemmChoice = GEMMChoice(modes: GEMMModes(linear: linear, attention: attention), reason: "rank 0's choice", measurements: []) }
        model.gemmModes = gemmChoice.modes
        say("matrix products: \(gemmChoice.summary)")
    }

    /// The ending recorded by an earlier session that finished this run directory, if any; checks
    /// that a run directory from earlier continues with the settings it records.
    private func earlierEnding() throws -> Outcome? {
        try files.checkIsRunDirectory()
        let recorded = try RunFiles.readObject(files.config)
        let result = try RunFiles.readObject(files.result)
        let hasCheckpoint = FileManager.default.fileExists(atPath: files.checkpoint)
        if let recorded, hasCheckpoint || result != nil { try checkRecordedSettings(recorded) }
        if hasCheckpoint { try checkCheckpointRecords() }
        switch result?["status"]?.stringValue {
        case "completed":
            say("\(files.result): this run already completed; nothing to do (choose another --out to train again)")
            return Outcome(.alreadyCompleted)
        case "diverged":
            let message = result?["message"]?.stringValue ?? "training diverged"
            say("\(files.result): this run diverged earlier: \(message)")
            return Outcome(.diverged(message: message))
        case "pruned":
            let epoch = result?["pruned_after_epoch"]?.intValue ?? 0
            say("\(files.result): this run was stopped early after epoch \(epoch); nothing to do")
            return Outcome(.pruned(epoch: epoch))
        default:
            if settings.resume && !hasCheckpoint { throw TrainingError.nothingToResume(directory: files.directory) }
            return nil
        }
    }

    /// Restores the checkpoint's weights, optimizer state and position, or writes config.json for a
    /// fresh run.
    private func startOrResume() throws -> SessionState {
        var state = SessionState()
        if FileManager.default.fileExists(atPath: files.checkpoint) {
            let (saved, optimizerState) = try TrainingCheckpoint.read(path: files.checkpoint, model: model,
                                                                      trainableFingerprint: trainableFingerprint)
            guard saved.seed == settings.seed else {
                throw TrainingError.resumeMismatch(path: files.checkpoint, setting: "seed", recorded: String(saved.seed),
                                                   given: String(settings.seed))
            }
            guard saved.position.globalStep == saved.position.epoch * stepsPerEpoch + saved.position.step,
                  saved.position.step <= stepsPerEpoch, saved.position.epoch <= settings.epochs else {
                throw TrainingError.checkpointMismatch(path: files.checkpoint, message: "position epoch \(saved.position.epoch) "
                    + "step \(saved.position.step) does not fit \(settings.epochs) epochs of \(stepsPerEpoch) steps")
            }
            try optimizer.restoreState(optimizerState)
            if world.isRoot && !FileManager.default.fileExists(atPath: files.config) {
                try RunFiles.write(configJSON().rendered() + "\n", to: files.config)
            }
            state.position = saved.position
            state.progress = saved.progress
            say("resuming from \(files.checkpoint): epoch \(state.position.epoch + 1), step \(state.position.step) of \(stepsPerEpoch)")
        } else if world.isRoot {
            try RunFiles.write(configJSON().rendered() + "\n", to: files.config)
        }
        if world.isRoot { state.metricsLines = files.metricsLines(upToEpoch: state.position.epoch) }
        return state
    }

    /// The end: the final validation metrics (re-evaluated if the run resumed after its last
    /// epoch), the test split when asked, result.json.
    private func endCompleted(state: SessionState) throws -> Outcome {
        var state = state
        if !state.evaluatedAnEpoch, let val = try evaluate(valSplit) {
            state.lastValidation = val
            try writePredictions(val.evaluation, split: valSplit)
        }
        var test: MetricsReport?
        if let testSplit, let result = try evaluate(testSplit) {
            test = result.report
            try writePredictions(result.evaluation, split: testSplit)
            say("test: AUC \(Self.format(result.report.overall.auc))")
        }
        var train: MetricsReport?
        if settings.evaluateTrain, let result = try evaluate(trainSplit) {
            train = result.report
            try writePredictions(result.evaluation, split: trainSplit)
            say("train: AUC \(Self.format(result.report.overall.auc))")
        }
        if world.isRoot {
            try writeResult(status: "completed", message: "trained \(settings.epochs) epochs", val: state.lastValidation?.report,
                            test: test, progress: state.progress, train: train)
            say("done: \(files.result)")
        }
        var outcome = Outcome(.completed)
        outcome.test = test
        fillReports(&outcome, state: state)
        return outcome
    }

    /// A run the epoch callback stopped: result.json records it; the test split is not evaluated.
    private func endPruned(epoch: Int, state: SessionState) throws -> Outcome {
        if world.isRoot {
            try writeResult(status: "pruned", message: "stopped early after epoch \(epoch) of \(settings.epochs)",
                            val: state.lastValidation?.report, test: nil, progress: state.progress, prunedAfterEpoch: epoch)
            say("stopped early after epoch \(epoch): \(files.result)")
        }
        var outcome = Outcome(.pruned(epoch: epoch))
        fillReports(&outcome, state: state)
        return outcome
    }

    private func fillReports(_ outcome: inout Outcome, state: SessionState) {
        outcome.validation = state.lastValidation?.report
        outcome.bestEpoch = state.progress.bestEpoch
        outcome.bestValidation = state.bestValidation
    }

    /// A cheap position-weighted checksum of the trainable weights, compared across ranks.
    public func checksum() -> Double {
        var sum = 0.0
        let p = model.parameters.base
        for r in model.trainable.ranges {
            for i in r { sum += Double(p[i]) * Double(i % 1009 + 1) }
        }
        return sum
    }

    func checkReplicas(epoch: Int) throws {
        guard world.size > 1 else { return }
        let c = checksum()
        let maximum = try world.allReduceMax(c), minimum = -(try world.allReduceMax(-c))
        guard maximum == minimum else { throw TrainingError.replicasDiffer(epoch: epoch, minimum: minimum, maximum: maximum) }
    }

    static func format(_ v: MetricValue) -> String {
        v.doubleValue.map { String(format: "%.4f", $0) } ?? "n/a"
    }
}
