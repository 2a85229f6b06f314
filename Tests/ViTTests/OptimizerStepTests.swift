import Optimization
import Training
import SafeTensors
import ViT
import TestSupport
import XCTest

/// Two optimizer steps of the 4-block model with an auto_peft2 mask against torch.optim
/// (SGD with momentum and weight decay; AdamW), parameters within 1e-5 relative.
final class OptimizerStepTests: XCTestCase {
    func runSteps(fixture: String, makeOptimizer: ([String: String]) throws -> Optimizer) throws {
        let expected = try Fixtures.open(fixture)
        let meta = expected.metadata
        let model = try PretrainedWeights.load(path: Fixtures.path("sweep_weights.safetensors")).model
        let method = try PEFTMethod(name: meta["method"]!)
        let mask = try PEFTMask(meta["mask"]!, method: method, depth: model.config.depth).bits
        model.setTrainable(try TrainableSet(layout: model.layout, method: method, mask: mask))
        let groups = model.trainable.parameterGroups(layout: model.layout, weightDecay: Double(meta["weight_decay"]!)!)
        XCTAssertEqual(groups.reduce(0) { $0 + $1.count }, model.trainable.trainableCount)
        let optimizer = try makeOptimizer(meta)
        let batch = try FixtureBatch(try Fixtures.open("sweep_io.safetensors"))
        for step in 1...2 {
            let loss = try model.lossAndGradients(batch)
            XCTAssertEqual(loss, try expected.floats("loss.step\(step)")[0], accuracy: 1e-5, "\(fixture) step \(step)")
            optimizer.step(parameters: model.parameters.buffer, gradients: UnsafeBufferPointer(model.gradients.buffer),
                           groups: groups, learningRate: Float(Double(meta["lr"]!)!))
        }
        let original = try Fixtures.open("sweep_weights.safetensors")
        for (index, view) in model.layout.views.enumerated() {
            let ours = model.parameterValues(index)
            if model.trainable.contains(index) {
                let error = TestSupport.relativeError(ours, try expected.floats("param.\(view.name)"))
                XCTAssertLessThan(error, 1e-5, "\(fixture) param.\(view.name)")
            } else {
                XCTAssertEqual(ours, try original.floats(view.name), "\(fixture): frozen \(view.name) changed")
            }
        }
    }

    func testSGDWithMomentumMatchesTorch() throws {
        try runSteps(fixture: "sweep_optimizer_sgd.safetensors") { meta in
            try SGD(momentum: Double(meta["momentum"]!)!)
        }
    }

    func testAdamWMatchesTorch() throws {
        try runSteps(fixture: "sweep_optimizer_adamw.safetensors") { meta in
            try AdamW(beta1: Double(meta["beta1"]!)!, beta2: Double(meta["beta2"]!)!, epsilon: Double(meta["eps"]!)!)
        }
    }

    func testSeparateDecaysForNormsBiasesAndEmbeddings() throws {
        let model = try PretrainedWeights.load(path: Fixtures.path("sweep_weights.safetensors")).model
        let groups = model.trainable.parameterGroups(layout: model.layout, weightDecay: 0.05, normWeightDecay: 0,
                                                     biasWeightDecay: 0, embeddingWeightDecay: 0)
        XCTAssertEqual(groups.reduce(0) { $0 + $1.count }, model.layout.count)
        for (index, view) in model.layout.views.enumerated() {
            let group = try XCTUnwrap(groups.first { $0.range.contains(view.offset) })
            let decays = view.name.contains("norm") || view.name.hasSuffix(".bias")
                || index == model.layout.classToken || index == model.layout.positionEmbedding
            XCTAssertEqual(group.weightDecay, decays ? 0 : 0.05, view.name)
        }
    }
}
