import Distributed
import Foundation
import JSON
import SafeTensors
import Testing
import TestSupport
import Training

/// The trainer in-process on the tiny shard fixture (16 training images) and the tiny ViT: run
/// files, a finished run left alone, and resume checks against config.json.
@Suite(.serialized) struct TrainerResumeTests {
    /// The run's settings; RMSprop runs with a constant warmup epoch and the exponential schedule.
    func settings(out: String, learningRate: Double = 0.01, resume: Bool = false,
                  optimizer: TrainingSettings.OptimizerKind = .adamw) -> TrainingSettings {
        let rmsprop = optimizer == .rmsprop
        return TrainingSettings(
            dataDirectory: TestSupport.fixtures("data/tiny").path,
            weightsPath: TestSupport.fixtures("vit/tiny_weights.safetensors").path, attributes: ["sex", "age_binary"],
            method: .parts4, mask: "00010011", loraRank: 0, loraAlpha: nil, learningRate: learningRate, epochs: 2,
            globalBatchSize: 8, optimizer: optimizer, momentum: 0.9, nesterov: false, weightDecay: rmsprop ? 1e-4 : 0,
            decayNormsAndBiases: true, schedule: rmsprop ? .exponential : .constant, stepSize: 1, gamma: 0.5,
            warmupEpochs: rmsprop ? 1 : 0, warmupStartFactor: 0.1, warmupMethod: .constant, minimumLearningRate: 0,
            labelSmoothing: 0, clipGradNorm: nil, classWeights: .auto, seed: 1, imageSize: nil, heads: nil, evaluateTest: true,
            keepBest: (.auc, nil), checkpointEvery: 0, threads: 1, workers: 1, logInterval: 1000, outDirectory: out,
            resume: resume)
    }

    func trainer(_ settings: TrainingSettings, stopAtStep: Int? = nil) throws -> Trainer {
        final class Counter: @unchecked Sendable { var steps = 0 }
        let counter = Counter()
        // Never StopRequest here: StopRequestTests raise real signals meanwhile.
        return try Trainer(settings: settings, version: "test", world: try MPICommunicator.world(), say: { _ in }, warn: { _ in },
                           stopRequested: {
                               counter.steps += 1
                               return counter.steps == stopAtStep
                           })
    }

    @Test func writesRunFilesThenRefusesChangedSettings() throws {
        let out = TestSupport.temporaryPath("trainer").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let first = try trainer(settings(out: out))
        #expect(first.stepsPerEpoch == 2)
        #expect(first.classWeights.map { $0.reduce(0, +) / 2 }.map { abs($0 - 1) < 1e-12 } == true)
        #expect(try first.run().ending == .completed)
        let files = RunFiles(directory: out)
        for path in [files.config, files.metrics, files.result, files.checkpoint, files.bestCheckpoint,
                     files.predictions("val"), files.predictions("test")] {
            #expect(FileManager.default.fileExists(atPath: path), "\(path)")
        }
        #expect(files.metricsLines(upToEpoch: 2).count == 2)
        #expect(files.metricsLines(upToEpoch: 1).count == 1)
        let result = try #require(try RunFiles.readObject(files.result))
        #expect(result["status"]?.stringValue == "completed")
        // Six val samples, one row each plus the header.
        let csv = try String(contentsOfFile: files.predictions("val"), encoding: .utf8)
        #expect(csv.split(separator: "\n").first == "sample_id,patient_id,label,score,sex,age_binary")
        #expect(csv.split(separator: "\n").count == 7)

        // Finished: a rerun trains nothing; a rerun with other settings is refused (another --out was meant).
        #expect(try trainer(settings(out: out)).run().ending == .alreadyCompleted)
        #expect(throws: TrainingError.self) { try trainer(settings(out: out, learningRate: 0.03)).run() }

        // Unfinished (no result.json) with another learning rate: refused, naming the setting.
        try FileManager.default.removeItem(atPath: files.result)
        let error = #expect(throws: TrainingError.self) { try trainer(settings(out: out, learningRate: 0.02)).run() }
        #expect(error == .resumeMismatch(path: files.config, setting: "lr", recorded: "0.01", given: "0.02"))

        // The same settings resume (from the end of epoch 2) and complete again.
        #expect(try trainer(settings(out: out, resume: true)).run().ending == .completed)
    }

    /// With each optimizer's state (RMSprop's square_avg and momentum_buffer included) through the checkpoint.
    @Test(arguments: [TrainingSettings.OptimizerKind.adamw, .rmsprop])
    func stoppedMidEpochAndResumedEqualsUninterrupted(_ optimizer: TrainingSettings.OptimizerKind) throws {
        let base = TestSupport.temporaryPath("trainer").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let whole = base + "/whole", cut = base + "/cut"
        #expect(try trainer(settings(out: whole, optimizer: optimizer)).run().ending == .completed)
        #expect(try trainer(settings(out: cut, optimizer: optimizer), stopAtStep: 3).run().ending
            == .stopped(signal: "a stop request on another rank"))
        let stopped = try #require(try RunFiles.readObject(RunFiles(directory: cut).result))
        #expect(stopped["status"]?.stringValue == "stopped")
        if optimizer == .rmsprop {
            let checkpoint = try SafeTensorsFile(path: cut + "/checkpoint.safetensors")
            #expect(checkpoint.metadata["optimizer"] == "RMSprop")
            let buffers = Set(checkpoint.tensors.map(\.name).filter { $0.hasPrefix("optimizer.") }.map { $0.split(separator: ".").last! })
            #expect(buffers == ["square_avg", "momentum_buffer"])
        }
        #expect(try trainer(settings(out: cut, optimizer: optimizer)).run().ending == .completed)
        // Tensors (weights and optimizer state) bit for bit; the metadata differs only in timings.
        for name in ["checkpoint.safetensors", "checkpoint-best.safetensors"] {
            let a = try SafeTensorsFile(path: whole + "/" + name), b = try SafeTensorsFile(path: cut + "/" + name)
            #expect(a.tensors.map(\.name) == b.tensors.map(\.name))
            for t in a.tensors {
                #expect(try a.floats(t.name).map(\.bitPattern) == b.floats(t.name).map(\.bitPattern), "\(name): \(t.name)")
            }
            for key in ["epoch", "step", "global_step", "best_epoch", "best_value", "optimizer_slots"] {
                #expect(a.metadata[key] == b.metadata[key], "\(name): \(key)")
            }
        }
        let a = try String(contentsOfFile: whole + "/predictions-test.csv", encoding: .utf8)
        #expect(try a == String(contentsOfFile: cut + "/predictions-test.csv", encoding: .utf8))
    }

    @Test func resumeWithoutCheckpointIsAnError() throws {
        let out = TestSupport.temporaryPath("trainer").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        #expect(throws: TrainingError.nothingToResume(directory: out)) { try trainer(settings(out: out, resume: true)).run() }
    }

    /// config.json deleted: the checkpoint still carries the settings, so another --lr is refused
    /// (naming the checkpoint), and the same settings resume and write config.json again.
    @Test func theCheckpointAloneRefusesChangedSettings() throws {
        let out = TestSupport.temporaryPath("trainer").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        #expect(try trainer(settings(out: out), stopAtStep: 3).run().ending == .stopped(signal: "a stop request on another rank"))
        let files = RunFiles(directory: out)
        try FileManager.default.removeItem(atPath: files.config)
        let error = #expect(throws: TrainingError.self) { try trainer(settings(out: out, learningRate: 0.02)).run() }
        #expect(error == .resumeMismatch(path: files.checkpoint, setting: "lr", recorded: "0.01", given: "0.02"))
        #expect(try trainer(settings(out: out)).run().ending == .completed)
        #expect(FileManager.default.fileExists(atPath: files.config))
    }

    /// Data prepared again between stop and resume is refused, naming what changed.
    @Test func aResumeRefusesChangedData() throws {
        let base = TestSupport.temporaryPath("trainer").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let data = base + "/data"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestSupport.fixtures("data/tiny").path, toPath: data)
        var run = settings(out: base + "/run")
        run.dataDirectory = data
        #expect(try trainer(run, stopAtStep: 2).run().ending == .stopped(signal: "a stop request on another rank"))
        let manifest = data + "/manifest.json"
        try (String(contentsOfFile: manifest, encoding: .utf8) + "\n").write(toFile: manifest, atomically: true, encoding: .utf8)
        let error = #expect(throws: TrainingError.self) { try trainer(run).run() }
        #expect(error?.description.contains("manifest.json differs") == true, "\(String(describing: error))")
    }

    /// A folder of the user's own files is never trained into.
    @Test func aFolderThatIsNotARunIsRefused() throws {
        let out = TestSupport.temporaryPath("trainer").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try "mine".write(toFile: out + "/metrics.jsonl", atomically: true, encoding: .utf8)
        #expect(throws: TrainingError.notARunDirectory(directory: out, example: "metrics.jsonl")) { try trainer(settings(out: out)).run() }
        #expect(try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8) == "mine")
    }

    /// An image size whose step cannot fit is refused with the estimate before any allocation.
    @Test func anImpossibleImageSizeIsRefusedWithTheEstimate() throws {
        var run = settings(out: TestSupport.temporaryPath("trainer").path)
        run.imageSize = 4096
        let error = #expect(throws: TrainingError.self) { try trainer(run) }
        #expect(error?.description.contains("needs up to") == true && error?.description.contains("image-size") == true,
                "\(String(describing: error))")
    }
}
