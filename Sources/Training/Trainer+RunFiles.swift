import Foundation
import JSON
import Metrics
import SafeTensors

/// The run directory's files as this run writes them: config.json, result.json, the checkpoints;
/// and the settings check against a config.json from earlier.
extension Trainer {
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
            ("normalization", .object([("mean", .array(normalization.mean.map { .number($0) })),
                                       ("std", .array(normalization.std.map { .number($0) })),
                                       ("source", .string(normalization.source))])),
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
                ("train_metrics", .bool(settings.evaluateTrain)),
                ("checkpoint_every", .number(Double(settings.checkpointEvery))),
                ("log_interval", .number(settings.logInterval)),
                ("schedule_unit", .string("epoch")),
                ("gemm", gemmChoice.json),
            ])),
            ("model", modelJSON),
            ("data", dataJSON),
        ])
    }


    /// Compares this run's settings and data with those the checkpoint records (config.json may be
    /// gone; the checkpoint still proves which run it belongs to).
    func checkCheckpointRecords() throws {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: files.checkpoint) } catch {
            throw TrainingError.checkpointMismatch(path: files.checkpoint, message: error.description)
        }
        let saved = try TrainingCheckpoint.header(file)
        if let recorded = saved.settings,
           let difference = RunFingerprints.firstDifference(recorded: recorded, current: settingsFingerprint) {
            throw TrainingError.resumeMismatch(path: files.checkpoint, setting: difference.setting, recorded: difference.recorded,
                                               given: difference.given)
        }
        if let recorded = saved.dataset, let change = RunFingerprints.datasetChange(recorded: recorded, current: datasetFingerprint) {
            throw TrainingError.datasetChanged(checkpoint: files.checkpoint, data: settings.dataDirectory, change: change)
        }
    }

    /// Compares this run's result-defining settings with those recorded in config.json.
    func checkRecordedSettings(_ recorded: JSONValue) throws(TrainingError) {
        guard let saved = recorded["settings"], saved.objectValue != nil else {
            throw .runFile(path: files.config, message: "has no 'settings' object")
        }
        if let difference = RunFingerprints.firstDifference(recorded: saved, current: settingsFingerprint) {
            throw .resumeMismatch(path: files.config, setting: difference.setting, recorded: difference.recorded,
                                  given: difference.given)
        }
    }

    func printSettings() {
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
        let head = settings.headLearningRateMultiplier == 1 ? "" : ", head at \(settings.headLearningRateMultiplier) x lr"
        say("optimizer \(settings.optimizer.rawValue)\(optimizerDetail), lr \(settings.learningRate)\(head) (\(settings.schedule.rawValue) per epoch"
            + (settings.warmupEpochs > 0 ? ", \(settings.warmupEpochs) \(settings.warmupMethod.rawValue) warmup epochs" : "") + "), weight decay \(settings.weightDecay), "
            + "class weights \(classWeights.map { $0.map { String(format: "%.4g", $0) }.joined(separator: ",") } ?? "none"), seed \(settings.seed)")
        say("data \(dataset.manifest.dataset): train \(trainSplit.count), val \(valSplit.count)"
            + (testSplit.map { ", test \($0.count)" } ?? "") + "; attributes \(settings.attributes.joined(separator: ", ")); out \(files.directory)")
    }

    /// Wall-clock seconds of the run over every session.
    var wallSeconds: Double { previousWallSeconds + Date().timeIntervalSince(runStart) }

    /// Writes a checkpoint (rank 0) and waits for it, so no rank runs ahead of a file it may read.
    func saveCheckpoint(position: TrainingCheckpoint.Position, progress: TrainingCheckpoint.Progress,
                                to path: String) throws {
        var progress = progress
        progress.wallSeconds = wallSeconds
        if world.isRoot {
            let checkpoint = TrainingCheckpoint(position: position, progress: progress, seed: settings.seed,
                                                modelFingerprint: TrainingCheckpoint.fingerprint(of: model.layout),
                                                trainableFingerprint: trainableFingerprint, settings: settingsFingerprint,
                                                dataset: datasetFingerprint)
            try checkpoint.write(to: path, model: model, optimizer: optimizer.exportState(),
                                 extraMetadata: ["ranks": String(world.size), "fairtune_version": version])
        }
        try world.barrier()
    }

    /// result.json (rank 0): how the run ended, its timings and reports.
    func writeResult(status: String, message: String, val: MetricsReport?, test: MetricsReport?,
                     progress: TrainingCheckpoint.Progress, prunedAfterEpoch: Int? = nil, train: MetricsReport? = nil) throws {
        let t = model.trainable
        let result = JSONValue.object([
            ("format", .string("fairtune-run-result")),
            ("version", .number(1)),
            ("fairtune_version", .string(version)),
            ("status", .string(status)),
            ("message", .string(message)),
            ("epochs", .number(Double(settings.epochs))),
            ("pruned_after_epoch", prunedAfterEpoch.map { .number(Double($0)) } ?? .null),
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
            ("train", train?.json() ?? .null),
        ])
        try RunFiles.write(result.rendered() + "\n", to: files.result)
    }
}
