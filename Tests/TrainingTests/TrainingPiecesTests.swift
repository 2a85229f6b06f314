import Foundation
import JSON
import Metrics
import Optimization
import TestSupport
import Testing
import Training
import ViT

@Suite struct ClassWeightTests {
    @Test func inverseFrequencyHasMeanOneAndInverseRatios() throws {
        let w = try ClassWeights.inverseFrequency(counts: [300, 100, 50])
        #expect(abs(w.reduce(0, +) / 3 - 1) < 1e-12)
        // scikit-learn's compute_class_weight('balanced') is n / (K·n_k): the same up to one factor.
        let balanced = [300.0, 100, 50].map { 450 / (3 * $0) }
        for k in 0..<3 { #expect(abs(w[k] / w[0] - balanced[k] / balanced[0]) < 1e-12) }
    }

    @Test func absentClassGetsZeroAndEmptySplitFails() throws {
        #expect(try ClassWeights.inverseFrequency(counts: [10, 0]) == [1, 0])
        #expect(throws: TrainingError.self) { try ClassWeights.inverseFrequency(counts: [0, 0]) }
    }

    @Test func parsesExactlyOnePerClass() throws {
        #expect(try ClassWeights.parse("1, 2.5", classes: 2) == [1, 2.5])
        for bad in ["1", "1,2,3", "1,x", "-1,2", "0,0", "1,"] {
            #expect(throws: TrainingError.self) { try ClassWeights.parse(bad, classes: 2) }
        }
    }
}

@Suite struct FusedGradientBufferTests {
    @Test func packsRangesAndScalarsAndUnpacksScaled() {
        var gradients = (0..<20).map { Float($0) }
        let fused = FusedGradientBuffer(ranges: [2..<5, 10..<12], scalarCount: 2)
        #expect(fused.gradientCount == 5 && fused.storage.count == 7)
        gradients.withUnsafeBufferPointer { fused.pack(from: $0.baseAddress!) }
        fused.setScalar(0, 7)
        fused.setScalar(1, 8)
        #expect(Array(fused.storage) == [2, 3, 4, 10, 11, 7, 8])
        #expect(fused.scalar(1) == 8)
        gradients = [Float](repeating: -1, count: 20)
        gradients.withUnsafeMutableBufferPointer { fused.unpack(into: $0.baseAddress!, scale: 0.5) }
        #expect(gradients[2...4] == [1, 1.5, 2] && gradients[10...11] == [5, 5.5])
        #expect(gradients[5] == -1 && gradients[12] == -1, "packed ranges only")
    }
}

@Suite struct TrainingCheckpointTests {
    static let config = ViTConfig(imageSize: 16, patchSize: 8, width: 16, depth: 2, heads: 2, classes: 2)

    func model(seed: UInt64, config: ViTConfig = config, mask: [Bool] = [false, false, false, false, true, true, true, true])
        throws -> (VisionTransformer, String) {
        let layout = ParameterLayout(config: config)
        let model = VisionTransformer(layout: layout)
        ViTInitialization.randomize(model, seed: seed)
        let set = try TrainableSet(layout: layout, method: .parts4, mask: mask)
        model.setTrainable(set)
        return (model, TrainingCheckpoint.fingerprint(method: .parts4, mask: mask, trainable: set))
    }

    func temporaryPath() -> String {
        TestSupport.temporaryPath("ckpt").appendingPathExtension("safetensors").path
    }

    @Test func roundTripsTrainableTensorsOptimizerStateAndPosition() throws {
        let (a, print) = try model(seed: 1)
        let optimizer = try AdamW()
        let groups = a.trainable.parameterGroups(layout: a.layout, weightDecay: 0.01, normWeightDecay: 0)
        for step in 0..<2 {
            for r in a.trainable.ranges { for i in r { a.gradients.base[i] = Float(sin(Double(i + step))) } }
            optimizer.step(parameters: a.parameters.buffer, gradients: UnsafeBufferPointer(a.gradients.buffer),
                           groups: groups, learningRate: 0.01)
        }
        var progress = TrainingCheckpoint.Progress()
        progress.epochLossSum = 0.1 + 0.2
        progress.epochLossSteps = 3
        progress.bestEpoch = 2
        progress.bestValue = 1.0 / 3
        let saved = TrainingCheckpoint(position: .init(epoch: 2, step: 3, globalStep: 23), progress: progress, seed: 9,
                                       modelFingerprint: TrainingCheckpoint.fingerprint(of: a.layout), trainableFingerprint: print)
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try saved.write(to: path, model: a, optimizer: optimizer.exportState())

        let (b, _) = try model(seed: 2)
        let before = Array(b.parameters.buffer)
        let (loaded, state) = try TrainingCheckpoint.read(path: path, model: b, trainableFingerprint: print)
        #expect(loaded == saved, "position, progress (bit for bit), seed and fingerprints")
        #expect(state == optimizer.exportState())
        for (index, view) in a.layout.views.enumerated() {
            let expected = a.trainable.contains(index) ? Array(UnsafeBufferPointer(start: a.parameter(index), count: view.count))
                                                       : Array(before[view.range])
            #expect(Array(UnsafeBufferPointer(start: b.parameter(index), count: view.count)) == expected,
                    "trainable tensors restored, frozen ones left: \(view.name)")
        }
        // The restored state continues identically.
        let resumed = try AdamW()
        try resumed.restoreState(state)
        #expect(resumed.exportState() == optimizer.exportState())
    }

    @Test func refusesAnotherModelOrTrainableSet() throws {
        let (a, print) = try model(seed: 1)
        let saved = TrainingCheckpoint(position: .init(epoch: 1, step: 0, globalStep: 4), progress: .init(), seed: 0,
                                       modelFingerprint: TrainingCheckpoint.fingerprint(of: a.layout), trainableFingerprint: print)
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try saved.write(to: path, model: a, optimizer: try SGD().exportState())

        var wider = Self.config
        wider.width = 32
        let (other, otherPrint) = try model(seed: 1, config: wider)
        let error = #expect(throws: TrainingError.self) {
            _ = try TrainingCheckpoint.read(path: path, model: other, trainableFingerprint: otherPrint)
        }
        #expect(error?.description.contains("written for another model") == true)

        let mask = [true, true, true, true, false, false, false, false]
        let (shifted, shiftedPrint) = try model(seed: 1, mask: mask)
        let error2 = #expect(throws: TrainingError.self) {
            _ = try TrainingCheckpoint.read(path: path, model: shifted, trainableFingerprint: shiftedPrint)
        }
        #expect(error2?.description.contains("another trainable set") == true)
    }
}

@Suite struct CompactJSONTests {
    @Test func oneLineKeepsStringContent() {
        let value = JSONValue.object([("a", .number(1)), ("b", .object([("c", .string("x\n  y")), ("d", .array([.null]))]))])
        let line = value.compactRendered()
        #expect(!line.contains("\n"))
        let parsed = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        #expect((parsed?["b"] as? [String: Any])?["c"] as? String == "x\n  y")
    }
}
