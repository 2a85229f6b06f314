import Foundation
import JSON
import Metrics

/// The epoch loop: train the epoch's steps, then validate and checkpoint.
extension Trainer {
    /// Trains the steps of `epoch` from the position in `state` (a resumed epoch skips the steps
    /// trained before the stop).
    /// - Returns: nil when the epoch's steps are done; the ending when a stop or divergence ends the run.
    func trainEpoch(_ epoch: Int, step: DataParallelStep, reporter: ProgressReporter,
                    state: inout SessionState) throws -> Outcome.Ending? {
        let learningRate = Float(schedule.learningRate(at: epoch))
        let firstStep = epoch == state.position.epoch ? state.position.step : 0
        if firstStep == 0 { state.progress.epochLossSum = 0; state.progress.epochLossSteps = 0 }
        state.epochTrainSeconds = 0
        state.epochImages = 0
        guard firstStep < stepsPerEpoch else { return nil }
        let epochStart = Date()
        var trainedImages = 0
        let plan = trainLoader.trainingPlan(epoch: epoch, rank: world.rank, rankCount: world.size,
                                            globalBatchSize: settings.globalBatchSize, dropLast: true)
        let stream = trainLoader.batches(plan.droppingBatches(firstStep))
        var done = firstStep
        while let batch = try stream.next() {
            let stepStart = Date()
            let result = try step.run(images: batch.images.baseAddress, labels: UnsafeBufferPointer(batch.labels),
                                      rows: batch.validCount, learningRate: learningRate, stopRequested: stopRequested)
            state.progress.allreduceSeconds += result.allreduceSeconds
            if let detail = result.divergence {
                let error = TrainingError.diverged(epoch: epoch, step: done + 1, detail: detail)
                if world.isRoot {
                    try writeResult(status: "diverged", message: error.description, val: nil, test: nil, progress: state.progress)
                }
                return .diverged(message: error.description)
            }
            state.progress.epochLossSum += result.loss
            state.progress.epochLossSteps += 1
            trainedImages += settings.globalBatchSize
            done += 1
            state.position = .init(epoch: epoch, step: done, globalStep: epoch * stepsPerEpoch + done)
            state.progress.trainSeconds += Date().timeIntervalSince(stepStart)
            if world.isRoot {
                let rate = Double(trainedImages) / max(Date().timeIntervalSince(epochStart), 1e-9)
                let left = Double((settings.epochs - epoch) * stepsPerEpoch - done) * Double(settings.globalBatchSize) / max(rate, 1e-9)
                reporter.update(epoch: epoch + 1, epochs: settings.epochs, step: done, total: stepsPerEpoch,
                                loss: state.progress.epochLossSum / Double(state.progress.epochLossSteps),
                                imagesPerSecond: rate, secondsLeft: left)
            }
            if result.stopRequested { return try stop(epoch: epoch, step: done, state: state) }
            if settings.checkpointEvery > 0, state.position.globalStep % settings.checkpointEvery == 0, done < stepsPerEpoch {
                try saveCheckpoint(position: state.position, progress: state.progress, to: files.checkpoint)
            }
        }
        state.epochTrainSeconds = Date().timeIntervalSince(epochStart)
        state.epochImages = trainedImages
        return nil
    }

    /// A stop request: checkpoint where the run stands, record it, and end resumably.
    private func stop(epoch: Int, step: Int, state: SessionState) throws -> Outcome.Ending {
        try saveCheckpoint(position: state.position, progress: state.progress, to: files.checkpoint)
        let name = StopRequest.signal.map(StopRequest.name(of:)) ?? "a stop request on another rank"
        if world.isRoot {
            try writeResult(status: "stopped", message: "stopped by \(name) at epoch \(epoch + 1), step \(step); rerun to resume",
                            val: nil, test: nil, progress: state.progress)
        }
        say("\nstopped by \(name) after epoch \(epoch + 1) step \(step); checkpoint \(files.checkpoint) written, rerun to resume")
        return .stopped(signal: name)
    }

    /// After an epoch's steps: validation, the metrics line, the best epoch, the callback's
    /// decision, the epoch checkpoint.
    func finishEpoch(_ epoch: Int, state: inout SessionState,
                     afterEpoch: ((EpochSummary) -> EpochDecision)?) throws -> EpochDecision {
        let evalStart = Date()
        let val = try evaluate(valSplit)
        state.evaluatedAnEpoch = true
        let evalSeconds = Date().timeIntervalSince(evalStart)
        state.progress.evalSeconds += evalSeconds
        let trainLoss = state.progress.epochLossSum / Double(max(state.progress.epochLossSteps, 1))
        var isBest = false, decision = EpochDecision.proceed
        if let val {
            state.lastValidation = val
            try recordEpoch(epoch, report: val.report, trainLoss: trainLoss, evalSeconds: evalSeconds, state: &state)
            try writePredictions(val.evaluation, split: valSplit)
            isBest = try summarize(epoch, report: val.report, trainLoss: trainLoss, state: &state)
            if isBest { state.bestValidation = val.report }
            decision = afterEpoch?(EpochSummary(epoch: epoch + 1, trainLoss: trainLoss, validation: val.report)) ?? .proceed
        }
        // Rank 0 decided both; every rank needs the same flags for the collective saves below.
        var flags = [isBest ? 1.0 : 0.0, decision == .stop ? 1.0 : 0.0]
        try world.broadcast(&flags)
        if flags[0] > 0 {
            if !world.isRoot { state.progress.bestEpoch = epoch + 1 }
            try saveCheckpoint(position: .init(epoch: epoch + 1, step: 0, globalStep: (epoch + 1) * stepsPerEpoch),
                               progress: state.progress, to: files.bestCheckpoint)
        }
        state.position = .init(epoch: epoch + 1, step: 0, globalStep: (epoch + 1) * stepsPerEpoch)
        state.progress.epochLossSum = 0
        state.progress.epochLossSteps = 0
        try checkReplicas(epoch: epoch + 1)
        try saveCheckpoint(position: state.position, progress: state.progress, to: files.checkpoint)
        return flags[1] > 0 ? .stop : .proceed
    }

    /// Appends the epoch's line to metrics.jsonl (rank 0).
    private func recordEpoch(_ epoch: Int, report: MetricsReport, trainLoss: Double, evalSeconds: Double,
                             state: inout SessionState) throws {
        let trainSeconds = state.epochTrainSeconds
        let line = JSONValue.object([
            ("epoch", .number(Double(epoch + 1))),
            ("global_step", .number(Double((epoch + 1) * stepsPerEpoch))),
            ("train_loss", trainLoss.isFinite ? .number(trainLoss) : .null),
            ("lr", .number(schedule.learningRate(at: epoch))),
            ("images_per_second", state.epochImages > 0 ? .number(Double(state.epochImages) / max(trainSeconds, 1e-9)) : .null),
            ("train_seconds", .number(trainSeconds)),
            ("eval_seconds", .number(evalSeconds)),
            ("val", report.json()),
        ])
        state.metricsLines.append(line.compactRendered())
        try RunFiles.write(state.metricsLines.joined(separator: "\n") + "\n", to: files.metrics)
    }

    /// Prints the epoch's summary line and updates the best epoch of `--keep-best` (rank 0).
    /// - Returns: whether this epoch is the best so far.
    private func summarize(_ epoch: Int, report: MetricsReport, trainLoss: Double, state: inout SessionState) throws -> Bool {
        var summary = String(format: "epoch %d/%d: train loss %.4f, val AUC %@", epoch + 1, settings.epochs, trainLoss,
                             Self.format(report.overall.auc))
        for name in settings.attributes {
            if let v = try? report.value(of: .worstGroupAUC, attribute: name) {
                summary += ", worst-group AUC [\(name)] \(Self.format(v))"
            }
        }
        var isBest = false
        if let best = settings.keepBest, let label = settings.keepBestText {
            let value = try report.value(of: best.objective, attribute: best.attribute)
            if let v = value.doubleValue {
                let better = state.progress.bestValue.map { best.objective.higherIsBetter ? v > $0 : v < $0 } ?? true
                if better { state.progress.bestValue = v; state.progress.bestEpoch = epoch + 1; isBest = true }
                summary += ", \(label) \(Self.format(value))" + (isBest ? " (best so far)" : "")
            } else {
                summary += ", \(label) undefined (\(value)): not a candidate for the best epoch"
            }
        }
        say(summary)
        return isBest
    }
}
