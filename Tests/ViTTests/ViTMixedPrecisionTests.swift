import Foundation
import SafeTensors
import Tensor
@testable import ViT
import TestSupport
import XCTest

/// The model with its products on oneDNN against the same timm/PyTorch fixtures as
/// `ViTReferenceTests`: f32 within the f32 tolerances; bf16 operands (mixed precision as
/// PyTorch's CPU autocast) within 2e-2 on the logits and 5e-2 on the gradients (norm-wise).
final class ViTMixedPrecisionTests: XCTestCase {
    func check(_ modes: GEMMModes, logitTolerance: Double, gradientTolerance: Double) throws {
        for config in ["tiny", "odd"] {
            let model = try PretrainedWeights.load(path: Fixtures.path("\(config)_weights.safetensors")).model
            model.gemmModes = modes
            let io = try Fixtures.open("\(config)_io.safetensors")
            let batch = try FixtureBatch(io)
            let logits = model.logits(batch.images, batch: batch.batch)
            XCTAssertLessThan(TestSupport.relativeError(logits, try io.floats("logits")), logitTolerance, "\(config) logits")
            let weights = io.info("class_weights") != nil ? try io.floats("class_weights") : nil
            let smoothing = io.info("label_smoothing") != nil ? try io.floats("label_smoothing")[0] : 0
            _ = try model.lossAndGradients(batch, classWeights: weights, labelSmoothing: smoothing)
            for (index, view) in model.layout.views.enumerated() {
                let error = TestSupport.relativeError(model.gradientValues(index), try io.floats("grad.\(view.name)"))
                XCTAssertLessThan(error, gradientTolerance, "\(config) grad.\(view.name) in \(modes)")
            }
        }
    }

    func testOneDNNFloat32MatchesTimm() throws {
        try check(GEMMModes(.onednnFP32), logitTolerance: 1e-4, gradientTolerance: 1e-3)
    }

    func testBFloat16OperandsMatchTimmWithinAutocastTolerance() throws {
        try XCTSkipIf(GEMMSelection.onednnBF16Kernel == nil, "oneDNN has no bf16 matrix product on this CPU")
        try check(GEMMModes(.onednnBF16), logitTolerance: 2e-2, gradientTolerance: 5e-2)
        // The same on fairtune's workers (rows split, per-thread primitives).
        ParallelRows.useOwnThreads(2)
        defer { ParallelRows.useBLASThreads() }
        try check(GEMMModes(linear: .onednnBF16, attention: .onednnBF16), logitTolerance: 2e-2, gradientTolerance: 5e-2)
    }

    /// bf16 must actually change the products (else the test above checks f32 twice).
    func testBFloat16DiffersFromFloat32() throws {
        try XCTSkipIf(GEMMSelection.onednnBF16Kernel == nil, "oneDNN has no bf16 matrix product on this CPU")
        let model = try PretrainedWeights.load(path: Fixtures.path("tiny_weights.safetensors")).model
        let batch = try FixtureBatch(try Fixtures.open("tiny_io.safetensors"))
        let fp32 = model.logits(batch.images, batch: batch.batch)
        model.gemmModes = GEMMModes(.onednnBF16)
        let bf16 = model.logits(batch.images, batch: batch.batch)
        XCTAssertGreaterThan(TestSupport.relativeError(bf16, fp32), 1e-5)
    }
}
