import Distributed
import Foundation
import JSON
import Metrics
import SafeTensors
import Testing
import TestSupport
import Training

/// The trainer on ranks that are threads (`InProcessGroup`): the data-parallel step, the best-epoch
/// and stop handshakes and the evaluation gathers, inside `swift test` (mpirun runs the same in
/// Tests/python/test_train.py).
@Suite(.serialized) struct TrainerRanksTests {
    func settings(out: String, epochs: Int = 2) -> TrainingSettings {
        TrainingSettings(
            dataDirectory: TestSupport.fixtures("data/tiny").path,
            weightsPath: TestSupport.fixtures("vit/tiny_weights.safetensors").path, attributes: ["sex"],
            method: .parts4, mask: "00010011", loraRank: 0, loraAlpha: nil, learningRate: 0.01, epochs: epochs,
            // SGD: AdamW's normalisation would magnify the last-bit differences of near-zero gradients.
            globalBatchSize: 8, optimizer: .sgd, momentum: 0.9, nesterov: false, weightDecay: 0,
            decayNormsAndBiases: true, schedule: .constant, stepSize: 1, gamma: 0.5,
            warmupEpochs: 0, warmupStartFactor: 0.1, warmupMethod: .linear, minimumLearningRate: 0,
            labelSmoothing: 0, clipGradNorm: 1, classWeights: .auto, seed: 3, imageSize: nil, heads: nil, evaluateTest: true,
            keepBest: (.auc, nil), checkpointEvery: 0, threads: 1, workers: 1, logInterval: 1000, outDirectory: out,
            resume: false)
    }

    /// Trains on `ranks` thread-ranks; returns rank 0's outcome.
    func train(ranks: Int, out: String, epochs: Int = 2, stopAtStep: Int? = nil,
               afterEpoch: (@Sendable (Trainer.EpochSummary) -> Trainer.EpochDecision)? = nil) throws -> Trainer.Outcome {
        let settings = settings(out: out, epochs: epochs)
        let outcomes = try InProcessGroup(size: ranks).run { world in
            final class Steps: @unchecked Sendable { var count = 0 }
            let steps = Steps()
            let trainer = try agreeOnSetup(world: world) {
                try Trainer(settings: settings, version: "test", world: world, say: { _ in }, warn: { _ in },
                            stopRequested: { steps.count += 1; return world.rank == ranks - 1 && steps.count == stopAtStep })
            }
            return try trainer.run(afterEpoch: afterEpoch)
        }
        return outcomes[0]
    }

    func scratch() -> String {
        TestSupport.temporaryPath("ranks").path
    }

    @Test func twoRanksTrainAsOne() throws {
        let base = scratch()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let one = try train(ranks: 1, out: base + "/one"), two = try train(ranks: 2, out: base + "/two")
        #expect(one.ending == .completed && two.ending == .completed)
        let a = try SafeTensorsFile(path: base + "/one/checkpoint.safetensors")
        let b = try SafeTensorsFile(path: base + "/two/checkpoint.safetensors")
        #expect(b.metadata["ranks"] == "2")
        for t in a.tensors where !t.name.hasPrefix("optimizer.") {
            let x = try a.floats(t.name), y = try b.floats(t.name)
            let worst = zip(x, y).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-5, "\(t.name): differs by \(worst)")
        }
        // The reports reach the caller: the same split evaluated, the same sample count.
        let test1 = try #require(one.test), test2 = try #require(two.test)
        #expect(test1.sampleCount == test2.sampleCount)
        #expect(one.validation?.sampleCount == two.validation?.sampleCount)
        #expect(one.bestEpoch != nil && one.bestEpoch == two.bestEpoch)
    }

    /// A stop asked by the last rank only stops every rank at the same step, resumably.
    @Test func aStopOnOneRankStopsAll() throws {
        let out = scratch()
        defer { try? FileManager.default.removeItem(atPath: out) }
        #expect(try train(ranks: 2, out: out, stopAtStep: 3).ending == .stopped(signal: "a stop request on another rank"))
        let result = try #require(try RunFiles.readObject(RunFiles(directory: out).result))
        #expect(result["status"]?.stringValue == "stopped")
        #expect(try train(ranks: 2, out: out).ending == .completed)
    }

    /// The epoch callback sees each epoch's validation report; `.stop` prunes the run on every rank.
    @Test func theEpochCallbackCanStopTheRun() throws {
        let out = scratch()
        defer { try? FileManager.default.removeItem(atPath: out) }
        final class Seen: @unchecked Sendable { var epochs: [Int] = [] }
        let seen = Seen()
        let outcome = try train(ranks: 2, out: out, epochs: 3) { summary in
            seen.epochs.append(summary.epoch)
            #expect(summary.validation.sampleCount == 6)
            return summary.epoch == 2 ? .stop : .proceed
        }
        #expect(outcome.ending == .pruned(epoch: 2))
        #expect(seen.epochs == [1, 2], "rank 0 alone calls it")
        #expect(outcome.validation != nil && outcome.test == nil)
        let files = RunFiles(directory: out)
        let result = try #require(try RunFiles.readObject(files.result))
        #expect(result["status"]?.stringValue == "pruned" && result["pruned_after_epoch"]?.intValue == 2)
        #expect(files.metricsLines(upToEpoch: 3).count == 2)
        // A rerun leaves the pruned run alone.
        #expect(try train(ranks: 1, out: out, epochs: 3).ending == .pruned(epoch: 2))
    }

    @Test func aSetupFailureOnOneRankReachesEveryRank() throws {
        struct Unreadable: Error {}
        let outcomes = try InProcessGroup(size: 3).run { world -> String in
            do {
                _ = try agreeOnSetup(world: world) { () throws -> Int in
                    if world.rank == 2 { throw Unreadable() }
                    return 1
                }
                return "set up"
            } catch let error as CollectiveSetupError {
                return error.message ?? "silent"
            }
        }
        #expect(outcomes[0] == "error: another rank failed to set up (its message is above)")
        #expect(outcomes[1] == "silent")
        #expect(outcomes[2].hasPrefix("[rank 2/3] error: "))
    }
}
