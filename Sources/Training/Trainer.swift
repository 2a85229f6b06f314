import Dataset
import Distributed
import Foundation
import JSON
import Metrics
import Optimization
import Tensor
import ViT

/// Data-parallel fine-tuning of a ViT over MPI ranks, with validation metrics every epoch,
/// checkpoints and exact resume. Every rank runs the same `Trainer`; only rank 0 writes files
/// and prints.
///
/// A step: each rank runs forward and backward on its part of global batch j, with the logits
/// gradient scaled to the *unnormalised* weighted loss sum; one allreduce of a fused buffer
/// (trainable gradients + [Σwℓ, Σw, stop flag, non-finite flag]) gives every rank the global sums;
/// dividing by the global Σw gives the exact gradient of the global batch's weighted-mean loss, and
/// every rank applies the same clipping and optimizer step, so the weights stay identical.
public final class Trainer {
    /// How a run ended.
    public enum Outcome: Equatable, Sendable {
        /// Every epoch trained and evaluated; result.json written.
        case completed
        /// The run directory already holds a completed run; nothing was trained.
        case alreadyCompleted
        /// A stop was requested (SIGTERM/SIGUSR1): checkpointed, resumable.
        case stopped(signal: String)
        /// Loss or gradients became non-finite; result.json says so.
        case diverged(message: String)
    }

    /// Scalars of the fused buffer after the gradients.
    private enum Scalar: Int, CaseIterable { case lossSum, weightSum, stop, nonFinite }

    public let settings: TrainingSettings
    /// The software version recorded in run files.
    public let version: String
    private let world: Communicator
    private let files: RunFiles
    private let say: (String) -> Void
    private let warn: (String) -> Void
    private let stopRequested: () -> Bool

    // Data and model, set up by `init`.
    private let dataset: PreparedDataset
    private let trainSplit: DatasetSplit
    private let valSplit: DatasetSplit
    private let testSplit: DatasetSplit?
    private let attributeIndices: [Int]
    /// The model being trained (pretrained weights, fresh head, the trainable set of the settings).
    public let model: VisionTransformer
    private let maskBits: [Bool]?
    /// Resolved class weights (nil: unweighted).
    public let classWeights: [Double]?
    private let groups: [ParameterGroup]
    private let optimizer: Optimizer
    private let schedule: LearningRateSchedule
    private let localBatch: Int
    private let trainLoader: BatchLoader
    private let evalLoader: (DatasetSplit) -> BatchLoader
    /// Optimizer steps per epoch (the last partial global batch is dropped).
    public let stepsPerEpoch: Int
    private let trainableFingerprint: String

    /// Loads the data and the model and checks every setting against them (on every rank alike,
    /// so bad input fails everywhere before any collective call).
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
        let known = dataset.attributeNames
        attributeIndices = try settings.attributes.map { name throws(TrainingError) in
            guard let i = known.firstIndex(of: name) else {
                throw .invalidSetting(setting: "attribute", message: "the dataset \(settings.dataDirectory) has no attribute '\(name)'; "
                    + (known.isEmpty ? "it has none" : "it has: \(known.joined(separator: ", "))"))
            }
            return i
        }
        guard Set(settings.attributes).count == settings.attributes.count else {
            throw TrainingError.invalidSetting(setting: "attribute", message: "an attribute is given twice: \(settings.attributes)")
        }
        if let best = settings.keepBest {
            if best.objective.needsAttribute {
                guard let a = best.attribute else {
                    throw TrainingError.invalidSetting(setting: "keep-best", message: "\(best.objective.rawValue) compares groups; "
                        + "write \(best.objective.rawValue):ATTRIBUTE with one of the --attribute names")
                }
                guard settings.attributes.contains(a) else {
                    throw TrainingError.invalidSetting(setting: "keep-best", message: "attribute '\(a)' is not among the "
                        + "--attribute names (\(settings.attributes.joined(separator: ", ")))")
                }
            } else if best.attribute != nil {
                throw TrainingError.invalidSetting(setting: "keep-best", message: "\(best.objective.rawValue) is overall; it takes no attribute")
            }
        }
        let classes = dataset.manifest.task.classes.count

        // The model: the pretrained weights with a fresh head of the task's classes (seeded).
        let (model, _) = try Checkpoint.load(path: settings.weightsPath, options: .init(
            heads: settings.heads, imageSize: settings.imageSize, classes: classes,
            loraRank: settings.method == .lora ? settings.loraRank : 0,
            loraAlpha: settings.method == .lora ? settings.loraAlpha : nil, seed: settings.seed))
        self.model = model
        guard model.config.channels == 3 else {
            throw TrainingError.invalidSetting(setting: "weights", message: "the model takes \(model.config.channels) channels; "
                + "prepared datasets hold RGB images (3 channels)")
        }
        maskBits = try settings.mask.map { text throws(ViTError) in
            try parseMask(text, method: settings.method, depth: model.config.depth)
        }
        let trainable = try TrainableSet(layout: model.layout, method: settings.method, mask: maskBits)
        model.setTrainable(trainable)
        trainableFingerprint = TrainingCheckpoint.fingerprint(method: settings.method, mask: maskBits, trainable: trainable)
        let size = model.config.imageSize, stored = max(trainSplit.imageHeight, trainSplit.imageWidth)
        if stored * 2 < size || stored > size * 2 {
            warn("warning: the dataset's images are \(trainSplit.imageHeight)x\(trainSplit.imageWidth) and the model "
                + "takes \(size)x\(size); the transforms resize them, but a size this different loses detail or wastes compute")
        }

        switch settings.classWeights {
        case .none: classWeights = nil
        case .auto: classWeights = try ClassWeights.inverseFrequency(counts: trainSplit.classCounts(classCount: classes))
        case let .explicit(w):
            guard w.count == classes else {
                throw TrainingError.invalidSetting(setting: "class-weights", message: "\(w.count) weights given; the task has \(classes) classes "
                    + "(\(dataset.manifest.task.classes.joined(separator: ", ")))")
            }
            classWeights = w
        }

        let noDecay: Double? = settings.decayNormsAndBiases ? nil : 0
        groups = trainable.parameterGroups(layout: model.layout, weightDecay: settings.weightDecay,
                                           normWeightDecay: noDecay, biasWeightDecay: noDecay)
        switch settings.optimizer {
        case .sgd: optimizer = try SGD(momentum: settings.momentum, nesterov: settings.nesterov)
        case .adamw: optimizer = try AdamW()
        case .rmsprop:
            optimizer = try RMSprop(alpha: settings.rmspropAlpha, epsilon: settings.rmspropEpsilon, momentum: settings.momentum)
        }
        let decay: LearningRateSchedule.Decay
        switch settings.schedule {
        case .constant: decay = .constant
        case .step: decay = .step(size: settings.stepSize, gamma: settings.gamma)
        case .exponential: decay = .exponential(gamma: settings.gamma)
        case .cosine:
            guard settings.epochs > settings.warmupEpochs else {
                throw TrainingError.invalidSetting(setting: "warmup-epochs", message: "the cosine schedule needs more epochs "
                    + "(\(settings.epochs)) than warmup epochs (\(settings.warmupEpochs))")
            }
            decay = .cosine(minimum: settings.minimumLearningRate)
        }
        schedule = try LearningRateSchedule(
            baseLearningRate: settings.learningRate, decay: decay,
            warmup: .init(steps: settings.warmupEpochs, startFactor: settings.warmupStartFactor,
                          kind: settings.warmupMethod == .constant ? .constant : .linear),
            totalSteps: settings.epochs)

        localBatch = (settings.globalBatchSize + world.size - 1) / world.size
        stepsPerEpoch = trainSplit.count / settings.globalBatchSize
        guard stepsPerEpoch >= 1 else {
            throw TrainingError.invalidSetting(setting: "batch-size", message: "the global batch \(settings.globalBatchSize) "
                + "exceeds the \(trainSplit.count) training samples; no full batch to train on")
        }
        let norm = settings.normalization ?? (dataset.manifest.normalization.mean, dataset.manifest.normalization.std)
        trainLoader = BatchLoader(split: trainSplit, transform: .training(size: size, mean: norm.mean, std: norm.std),
                                  batchSize: localBatch, seed: settings.seed, workers: settings.workers)
        let evalTransform = ImageTransform.evaluation(size: size, mean: norm.mean, std: norm.std)
        let (batch, workers) = (localBatch, settings.workers)
        evalLoader = { split in BatchLoader(split: split, transform: evalTransform, batchSize: batch, workers: workers) }
    }

    // MARK: - Config

    /// config.json: every setting resolved, the model, the data and the software.
    public func configJSON() -> JSONValue {
        let c = model.config, t = model.trainable, m = dataset.manifest
        let modelJSON = JSONValue.object([
            ("image_size", .number(Double(c.imageSize))), ("patch_size", .number(Double(c.patchSize))),
            ("width", .number(Double(c.width))), ("depth", .number(Double(c.depth))), ("heads", .number(Double(c.heads))),
            ("mlp_width", .number(Double(c.mlpWidth))), ("classes", .number(Double(c.classes))),
            ("lora_rank", .number(Double(model.layout.loraRank))),
            ("trainable_fingerprint", .string(trainableFingerprint)),
            ("trainable_parameters", .number(Double(t.trainableCount))),
            ("total_parameters", .number(Double(t.totalCount))),
            ("trainable_percent", .number(t.trainablePercent)),
        ])
        let dataJSON = JSONValue.object([
            ("dataset", .string(m.dataset)),
            ("task", .string(m.task.name)),
            ("classes", .array(m.task.classes.map { .string($0) })),
            ("attributes", .object(m.attributes.map { ($0.name, .array($0.groups.map { .string($0) })) })),
            ("splits", .object(dataset.splits.map { ($0.name, .number(Double($0.count))) })),
            ("image", .string("\(m.image.height)x\(m.image.width)")),
        ])
        return .object([
            ("format", .string("fairtune-run-config")),
            ("version", .number(1)),
            ("fairtune_version", .string(version)),
            ("settings", .object(settings.resultDefining(resolvedClassWeights: classWeights))),
            ("run", .object([
                ("ranks", .number(Double(world.size))),
                ("threads_per_rank", .number(Double(settings.threads))),
                ("workers_per_rank", .number(Double(settings.workers))),
                ("batch_per_rank", .number(Double(localBatch))),
                ("steps_per_epoch", .number(Double(stepsPerEpoch))),
                ("test", .bool(settings.evaluateTest)),
                ("checkpoint_every", .number(Double(settings.checkpointEvery))),
                ("log_interval", .number(settings.logInterval)),
                ("schedule_unit", .string("epoch")),
            ])),
            ("model", modelJSON),
            ("data", dataJSON),
        ])
    }


    /// Compares this run's result-defining settings with those recorded in config.json.
    private func checkRecordedSettings(_ recorded: [String: Any]) throws(TrainingError) {
        guard let saved = recorded["settings"] as? [String: Any] else {
            throw .runFile(path: files.config, message: "has no 'settings' object")
        }
        // Both sides pass through JSONSerialization, so equal values give equal canonical texts.
        func canonical(_ value: Any) -> String {
            (try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys]))
                .map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
        }
        for (key, value) in settings.resultDefining(resolvedClassWeights: classWeights) {
            let text = value.compactRendered()
            let now = (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)) ?? NSNull()
            let old = saved[key] ?? NSNull()
            if canonical(now) != canonical(old) {
                let oldText = String(canonical(old).dropFirst().dropLast())
                throw .resumeMismatch(path: files.config, setting: key, recorded: oldText, given: text)
            }
        }
    }

    // MARK: - Run

    /// Trains (or resumes) to the end, a stop request or divergence.
    /// - Throws: file, data and MPI errors; `TrainingError.replicasDiffer` if the ranks' weights part.
    public func run() throws -> Outcome {
        // What the run directory holds decides: finished, resume, or a fresh start.
        if world.isRoot { try files.create() }
        try world.barrier()
        // A run directory from earlier must be continued with the settings it records.
        let recorded = try RunFiles.readObject(files.config)
        let result = try RunFiles.readObject(files.result)
        let hasCheckpoint = FileManager.default.fileExists(atPath: files.checkpoint)
        if let recorded, hasCheckpoint || result != nil { try checkRecordedSettings(recorded) }
        if let result, let status = result["status"] as? String {
            if status == "completed" {
                say("\(files.result): this run already completed; nothing to do (choose another --out to train again)")
                return .alreadyCompleted
            }
            if status == "diverged" {
                let message = result["message"] as? String ?? "training diverged"
                say("\(files.result): this run diverged earlier: \(message)")
                return .diverged(message: message)
            }
        }
        if settings.resume && !hasCheckpoint { throw TrainingError.nothingToResume(directory: files.directory) }
        var position = TrainingCheckpoint.Position(epoch: 0, step: 0, globalStep: 0)
        var progress = TrainingCheckpoint.Progress()
        if hasCheckpoint {
            let (saved, state) = try TrainingCheckpoint.read(path: files.checkpoint, model: model,
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
            try optimizer.restoreState(state)
            position = saved.position
            progress = saved.progress
            say("resuming from \(files.checkpoint): epoch \(position.epoch + 1), step \(position.step) of \(stepsPerEpoch)")
        } else if world.isRoot {
            try RunFiles.write(configJSON().rendered() + "\n", to: files.config)
        }
        var metricsLines = world.isRoot ? files.metricsLines(upToEpoch: position.epoch) : []
        printSettings()
        try checkReplicas(epoch: position.epoch)

        let reporter = ProgressReporter(style: ProgressReporter.styleForStandardOutput(interval: settings.logInterval))
        let classCount = model.config.classes
        let fused = FusedGradientBuffer(ranges: model.trainable.ranges, scalarCount: Scalar.allCases.count)
        let labels = UnsafeMutableBufferPointer<Int32>.allocate(capacity: localBatch)
        let logitsGradient = UnsafeMutableBufferPointer<Float>.allocate(capacity: localBatch * classCount)
        defer { labels.deallocate(); logitsGradient.deallocate() }
        let weights = classWeights?.map { Float($0) }
        runStart = Date()
        previousWallSeconds = progress.wallSeconds
        // The last validation report (rank 0), and whether this session evaluated an epoch (every rank).
        var lastVal: (MetricsReport, Evaluation)?
        var evaluatedAnEpoch = false

        for epoch in position.epoch..<settings.epochs {
            let rate = schedule.learningRate(at: epoch), learningRate = Float(rate)
            let firstStep = epoch == position.epoch ? position.step : 0
            if firstStep == 0 { progress.epochLossSum = 0; progress.epochLossSteps = 0 }
            let epochStart = Date()
            var trainedImages = 0
            if firstStep < stepsPerEpoch {
                let plan = trainLoader.trainingPlan(epoch: epoch, rank: world.rank, rankCount: world.size,
                                                    globalBatchSize: settings.globalBatchSize, dropLast: true)
                // Batches before the checkpoint's step were trained before the stop.
                let stream = trainLoader.batches(plan.droppingBatches(firstStep))
                var step = firstStep
                while let batch = try stream.next() {
                    defer { step += 1 }
                    let stepStart = Date()
                    let n = batch.validCount
                    model.zeroGradients()
                    var lossSum = 0.0, weightSum = 0.0
                    if n > 0 {
                        for i in 0..<n { labels[i] = Int32(batch.labels[i]) }
                        let logits = model.forward(images: batch.images.baseAddress!, batch: n, keepActivations: true)
                        (weights ?? []).withUnsafeBufferPointer { w in
                            let w = weights == nil ? nil : w.baseAddress
                            for i in 0..<n { weightSum += Double(w?[Int(labels[i])] ?? 1) }
                            let loss = CrossEntropy.loss(logits: logits.baseAddress!, labels: labels.baseAddress!, classWeights: w,
                                                         labelSmoothing: Float(settings.labelSmoothing), rows: n, classes: classCount)
                            CrossEntropy.backward(logitsGradient: logitsGradient.baseAddress!, logits: logits.baseAddress!,
                                                  labels: labels.baseAddress!, classWeights: w,
                                                  labelSmoothing: Float(settings.labelSmoothing), rows: n, classes: classCount)
                            lossSum = Double(loss) * weightSum
                            if weightSum == 0 { lossSum = 0 }
                            // Unnormalised: the backward then produces Σ over this rank's rows.
                            let scale = Float(weightSum)
                            for i in 0..<(n * classCount) { logitsGradient[i] *= scale }
                            if weightSum == 0 { logitsGradient.update(repeating: 0) }
                        }
                        model.backward(logitsGradient: logitsGradient.baseAddress!)
                    }
                    // One allreduce of gradients and scalars.
                    let reduceStart = Date()
                    fused.pack(from: model.gradients.base, scalars: [
                        Float(lossSum), Float(weightSum), stopRequested() ? 1 : 0, lossSum.isFinite ? 0 : 1,
                    ])
                    try world.allReduceSum(fused.storage)
                    let globalWeight = fused.scalar(Scalar.weightSum.rawValue)
                    fused.unpack(into: model.gradients.base, scale: globalWeight > 0 ? 1 / globalWeight : 0)
                    progress.allreduceSeconds += Date().timeIntervalSince(reduceStart)
                    let globalLoss = Double(fused.scalar(Scalar.lossSum.rawValue)) / Double(max(globalWeight, .leastNormalMagnitude))

                    // Same clip and update on every rank.
                    let gradients = model.gradients.buffer
                    let norm = settings.clipGradNorm.map {
                        GradientClipping.clipByTotalNorm(gradients, groups: groups, maxNorm: $0)
                    } ?? GradientClipping.totalNorm(UnsafeBufferPointer(gradients), groups: groups)
                    if fused.scalar(Scalar.nonFinite.rawValue) > 0 || !globalLoss.isFinite || !norm.isFinite {
                        var detail = "the loss is \(globalLoss)"
                        if let bad = GradientClipping.firstNonFinite(UnsafeBufferPointer(gradients), groups: groups),
                           let view = model.layout.views.first(where: { $0.range.contains(bad.index) }) {
                            detail = "the gradient of \(view.name) is \(bad.value) (loss \(globalLoss))"
                        }
                        let error = TrainingError.diverged(epoch: epoch, step: step + 1, detail: detail)
                        if world.isRoot {
                            try writeResult(status: "diverged", message: error.description, val: nil, test: nil,
                                            progress: progress)
                        }
                        return .diverged(message: error.description)
                    }
                    optimizer.step(parameters: model.parameters.buffer, gradients: UnsafeBufferPointer(gradients),
                                   groups: groups, learningRate: learningRate)
                    progress.epochLossSum += globalLoss
                    progress.epochLossSteps += 1
                    trainedImages += settings.globalBatchSize
                    let done = step + 1
                    position = .init(epoch: epoch, step: done, globalStep: epoch * stepsPerEpoch + done)
                    progress.trainSeconds += Date().timeIntervalSince(stepStart)
                    if world.isRoot {
                        let elapsed = Date().timeIntervalSince(epochStart)
                        let rate = Double(trainedImages) / max(elapsed, 1e-9)
                        let left = Double((settings.epochs - epoch) * stepsPerEpoch - done) * Double(settings.globalBatchSize) / max(rate, 1e-9)
                        reporter.update(epoch: epoch + 1, epochs: settings.epochs, step: done, total: stepsPerEpoch,
                                        loss: progress.epochLossSum / Double(progress.epochLossSteps),
                                        imagesPerSecond: rate, secondsLeft: left)
                    }
                    if fused.scalar(Scalar.stop.rawValue) > 0 {
                        try saveCheckpoint(position: position, progress: progress, to: files.checkpoint)
                        let name = StopRequest.signal.map(StopRequest.name(of:)) ?? "a stop request on another rank"
                        if world.isRoot {
                            try writeResult(status: "stopped", message: "stopped by \(name) at epoch \(epoch + 1), step \(done); rerun to resume",
                                            val: nil, test: nil, progress: progress)
                        }
                        say("\nstopped by \(name) after epoch \(epoch + 1) step \(done); checkpoint \(files.checkpoint) written, rerun to resume")
                        return .stopped(signal: name)
                    }
                    if settings.checkpointEvery > 0, position.globalStep % settings.checkpointEvery == 0, done < stepsPerEpoch {
                        try saveCheckpoint(position: position, progress: progress, to: files.checkpoint)
                    }
                }
            }
            let trainSeconds = Date().timeIntervalSince(epochStart)

            // Validation, the metrics line, the best epoch, the epoch checkpoint.
            let evalStart = Date()
            let val = try evaluate(valSplit)
            evaluatedAnEpoch = true
            let evalSeconds = Date().timeIntervalSince(evalStart)
            progress.evalSeconds += evalSeconds
            let trainLoss = progress.epochLossSum / Double(max(progress.epochLossSteps, 1))
            var isBest = false
            if let (report, evaluation) = val {
                lastVal = (report, evaluation)
                let line = JSONValue.object([
                    ("epoch", .number(Double(epoch + 1))),
                    ("global_step", .number(Double((epoch + 1) * stepsPerEpoch))),
                    ("train_loss", trainLoss.isFinite ? .number(trainLoss) : .null),
                    ("lr", .number(rate)),
                    ("images_per_second", trainedImages > 0 ? .number(Double(trainedImages) / max(trainSeconds, 1e-9)) : .null),
                    ("train_seconds", .number(trainSeconds)),
                    ("eval_seconds", .number(evalSeconds)),
                    ("val", report.json()),
                ])
                metricsLines.append(line.compactRendered())
                try RunFiles.write(metricsLines.joined(separator: "\n") + "\n", to: files.metrics)
                try writePredictions(evaluation, split: valSplit)
                var summary = String(format: "epoch %d/%d: train loss %.4f, val AUC %@", epoch + 1, settings.epochs, trainLoss,
                                     Self.format(report.overall.auc))
                for name in settings.attributes {
                    if let v = try? report.value(of: .worstGroupAUC, attribute: name) {
                        summary += ", worst-group AUC [\(name)] \(Self.format(v))"
                    }
                }
                if let best = settings.keepBest {
                    let value = try report.value(of: best.objective, attribute: best.attribute)
                    if let v = value.doubleValue {
                        let better = progress.bestValue.map { best.objective.higherIsBetter ? v > $0 : v < $0 } ?? true
                        if better { progress.bestValue = v; progress.bestEpoch = epoch + 1; isBest = true }
                        summary += ", \(settings.keepBestText!) \(Self.format(value))" + (isBest ? " (best so far)" : "")
                    } else {
                        summary += ", \(settings.keepBestText!) undefined (\(value)): not a candidate for the best epoch"
                    }
                }
                say(summary)
            }
            // Rank 0 decided; every rank needs the same flag for the collective save below.
            var flag = [isBest ? 1.0 : 0.0]
            try world.broadcast(&flag)
            if flag[0] > 0 {
                if !world.isRoot { progress.bestEpoch = epoch + 1 }
                try saveCheckpoint(position: .init(epoch: epoch + 1, step: 0, globalStep: (epoch + 1) * stepsPerEpoch),
                                   progress: progress, to: files.bestCheckpoint)
            }
            position = .init(epoch: epoch + 1, step: 0, globalStep: (epoch + 1) * stepsPerEpoch)
            progress.epochLossSum = 0
            progress.epochLossSteps = 0
            try checkReplicas(epoch: epoch + 1)
            try saveCheckpoint(position: position, progress: progress, to: files.checkpoint)
        }

        // The end: final validation metrics (re-evaluated if the run resumed after its last epoch)
        // and the test split when asked.
        if !evaluatedAnEpoch, let val = try evaluate(valSplit) {
            lastVal = val
            try writePredictions(val.1, split: valSplit)
        }
        var test: MetricsReport?
        if let testSplit, let result = try evaluate(testSplit) {
            test = result.0
            try writePredictions(result.1, split: testSplit)
            say("test: AUC \(Self.format(result.0.overall.auc))")
        }
        if world.isRoot {
            try writeResult(status: "completed", message: "trained \(settings.epochs) epochs", val: lastVal?.0, test: test,
                            progress: progress)
            say("done: \(files.result)")
        }
        return .completed
    }

    // MARK: - Pieces

    private func printSettings() {
        let t = model.trainable
        say("fairtune train \(version): \(world.size) rank(s) × \(settings.threads) thread(s), "
            + "global batch \(settings.globalBatchSize) (\(localBatch) per rank), \(stepsPerEpoch) steps per epoch, \(settings.epochs) epochs")
        say("model \(model.config), tuning \(settings.method.rawValue)\(settings.mask.map { " mask \($0)" } ?? ""): "
            + String(format: "%d of %d parameters train (%.3f%%)", t.trainableCount, t.totalCount, t.trainablePercent))
        let optimizerDetail: String
        switch settings.optimizer {
        case .sgd: optimizerDetail = " (momentum \(settings.momentum)\(settings.nesterov ? ", Nesterov" : ""))"
        case .adamw: optimizerDetail = ""
        case .rmsprop:
            optimizerDetail = " (alpha \(settings.rmspropAlpha), eps \(settings.rmspropEpsilon), momentum \(settings.momentum))"
        }
        say("optimizer \(settings.optimizer.rawValue)\(optimizerDetail), lr \(settings.learningRate) (\(settings.schedule.rawValue) per epoch"
            + (settings.warmupEpochs > 0 ? ", \(settings.warmupEpochs) \(settings.warmupMethod.rawValue) warmup epochs" : "") + "), weight decay \(settings.weightDecay), "
            + "class weights \(classWeights.map { $0.map { String(format: "%.4g", $0) }.joined(separator: ",") } ?? "none"), seed \(settings.seed)")
        say("data \(dataset.manifest.dataset): train \(trainSplit.count), val \(valSplit.count)"
            + (testSplit.map { ", test \($0.count)" } ?? "") + "; attributes \(settings.attributes.joined(separator: ", ")); out \(files.directory)")
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

    private func checkReplicas(epoch: Int) throws {
        guard world.size > 1 else { return }
        let c = checksum()
        let maximum = try world.allReduceMax(c), minimum = -(try world.allReduceMax(-c))
        guard maximum == minimum else { throw TrainingError.replicasDiffer(epoch: epoch, minimum: minimum, maximum: maximum) }
    }

    /// When this session started, and the wall time of the sessions before it.
    private var runStart = Date()
    private var previousWallSeconds = 0.0
    /// Wall-clock seconds of the run over every session.
    private var wallSeconds: Double { previousWallSeconds + Date().timeIntervalSince(runStart) }

    /// Writes a checkpoint (rank 0) and waits for it, so no rank runs ahead of a file it may read.
    private func saveCheckpoint(position: TrainingCheckpoint.Position, progress: TrainingCheckpoint.Progress,
                                to path: String) throws {
        var progress = progress
        progress.wallSeconds = wallSeconds
        if world.isRoot {
            let checkpoint = TrainingCheckpoint(position: position, progress: progress, seed: settings.seed,
                                                modelFingerprint: TrainingCheckpoint.fingerprint(of: model.layout),
                                                trainableFingerprint: trainableFingerprint)
            try checkpoint.write(to: path, model: model, optimizer: optimizer.exportState(),
                                 extraMetadata: ["ranks": String(world.size), "fairtune_version": version])
        }
        try world.barrier()
    }

    /// One split's predictions gathered at rank 0.
    struct Evaluation {
        /// Row-major scores: one column for two classes, K otherwise.
        var scores: [Double]
        var sampleIndices: [Int]
    }

    /// Evaluates `split` over all ranks. Collective.
    /// - Returns: the report and the gathered predictions on rank 0, nil elsewhere.
    func evaluate(_ split: DatasetSplit) throws -> (MetricsReport, Evaluation)? {
        let loader = evalLoader(split)
        let plan = loader.evaluationPlan(rank: world.rank, rankCount: world.size)
        let k = model.config.classes, columns = k == 2 ? 1 : k
        var scores: [Double] = [], labels: [Int] = [], indices: [Int] = []
        var codes = [[Int]](repeating: [], count: attributeIndices.count)
        let stream = loader.batches(plan)
        var probabilities = [Double](repeating: 0, count: k)
        while let batch = try stream.next() {
            let n = batch.validCount
            guard n > 0 else { continue }
            let logits = model.forward(images: batch.images.baseAddress!, batch: n, keepActivations: false)
            for row in 0..<n {
                // Softmax in f64 from the f32 logits.
                var m = -Double.infinity
                for j in 0..<k { m = max(m, Double(logits[row * k + j])) }
                var total = 0.0
                for j in 0..<k { probabilities[j] = exp(Double(logits[row * k + j]) - m); total += probabilities[j] }
                if columns == 1 { scores.append(probabilities[1] / total) } else { for j in 0..<k { scores.append(probabilities[j] / total) } }
                labels.append(batch.labels[row])
                indices.append(batch.sampleIndices[row])
                for (a, index) in attributeIndices.enumerated() { codes[a].append(batch.groups(attribute: index)[row]) }
            }
        }
        let attributes = try attributeIndices.enumerated().map { (a, index) in
            try SensitiveAttribute(name: settings.attributes[a], groupNames: dataset.manifest.attributes[index].groups, codes: codes[a])
        }
        // One gather of the scores, labels and groups, one of the sample indices (for the CSV).
        let gatheredIndices = try world.gather(indices, root: 0)
        guard let all = try DistributedMetrics.gather(.init(scores: scores, labels: labels, attributes: attributes), on: world),
              let gatheredIndices else { return nil }
        let predictions = try Predictions.scores(all.scores, columns: columns, kind: .probabilities, labels: all.labels)
        let report = try MetricsEvaluator(predictions: predictions, attributes: all.attributes).evaluate()
        return (report, Evaluation(scores: all.scores, sampleIndices: gatheredIndices.flatMap { $0 }))
    }

    /// predictions-<split>.csv (rank 0).
    private func writePredictions(_ evaluation: Evaluation, split: DatasetSplit) throws {
        guard world.isRoot else { return }
        let attributes = attributeIndices.enumerated().map { (a, index) in
            (name: settings.attributes[a], index: index, groups: dataset.manifest.attributes[index].groups)
        }
        let csv = RunFiles.predictionsCSV(split: split, sampleIndices: evaluation.sampleIndices, scores: evaluation.scores,
                                          classCount: model.config.classes, attributes: attributes)
        try RunFiles.write(csv, to: files.predictions(split.name))
    }

    private func writeResult(status: String, message: String, val: MetricsReport?, test: MetricsReport?,
                             progress: TrainingCheckpoint.Progress) throws {
        let t = model.trainable
        let result = JSONValue.object([
            ("format", .string("fairtune-run-result")),
            ("version", .number(1)),
            ("fairtune_version", .string(version)),
            ("status", .string(status)),
            ("message", .string(message)),
            ("epochs", .number(Double(settings.epochs))),
            ("best_epoch", progress.bestEpoch.map { .number(Double($0)) } ?? .null),
            ("keep_best", settings.keepBestText.map { .string($0) } ?? .null),
            ("trainable_parameters", .number(Double(t.trainableCount))),
            ("total_parameters", .number(Double(t.totalCount))),
            ("trainable_percent", .number(t.trainablePercent)),
            ("timings", .object([
                ("total_seconds", .number(wallSeconds)),
                ("session_seconds", .number(Date().timeIntervalSince(runStart))),
                ("train_seconds", .number(progress.trainSeconds)),
                ("eval_seconds", .number(progress.evalSeconds)),
                ("allreduce_seconds", .number(progress.allreduceSeconds)),
                ("allreduce_share_of_train", .number(progress.trainSeconds > 0 ? progress.allreduceSeconds / progress.trainSeconds : 0)),
            ])),
            ("val", val?.json() ?? .null),
            ("test", test?.json() ?? .null),
        ])
        try RunFiles.write(result.rendered() + "\n", to: files.result)
    }

    static func format(_ v: MetricValue) -> String {
        v.doubleValue.map { String(format: "%.4f", $0) } ?? "n/a"
    }
}
