import Foundation
import SafeTensors
@testable import ViT
import TestSupport
import XCTest

/// Bad checkpoints and masks give errors that name the tensor or the bit; saving round-trips.
final class ViTInputErrorTests: XCTestCase {
    /// Rewrites the sweep weights with `edit` applied to the (name, shape, values) list.
    func writeEdited(_ edit: (inout [(String, [Int], [Float])]) -> Void) throws -> String {
        let source = try Fixtures.open("sweep_weights.safetensors")
        var tensors = try source.tensors.map { ($0.name, $0.shape, try source.floats($0.name)) }
        edit(&tensors)
        var writer = SafeTensorsWriter(metadata: source.metadata)
        for (name, shape, values) in tensors { writer.add(name, shape: shape, floats: values) }
        let path = try Fixtures.temporaryDirectory(self) + "/edited.safetensors"
        try writer.write(to: path)
        return path
    }

    func assertCheckpointError(_ path: String, mentions text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try PretrainedWeights.load(path: path), file: file, line: line) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains(text), "'\(message)' does not mention '\(text)'", file: file, line: line)
        }
    }

    func testMissingExtraAndWrongShapedTensorsAreNamed() throws {
        assertCheckpointError(try writeEdited { $0.removeAll { $0.0 == "blocks.1.mlp.fc2.bias" } },
                              mentions: "missing tensor 'blocks.1.mlp.fc2.bias'")
        assertCheckpointError(try writeEdited { $0.append(("blocks.1.attn.extra", [2], [1, 2])) },
                              mentions: "unexpected tensor 'blocks.1.attn.extra'")
        assertCheckpointError(try writeEdited { t in
            let i = t.firstIndex { $0.0 == "blocks.2.attn.proj.weight" }!
            t[i] = (t[i].0, [16, 64], t[i].2)
        }, mentions: "tensor 'blocks.2.attn.proj.weight' has shape [16, 64]")
        assertCheckpointError(Fixtures.path("does_not_exist.safetensors"), mentions: "does_not_exist.safetensors")
    }

    func testHeadReplacedWhenClassCountDiffers() throws {
        let (model, report) = try PretrainedWeights.load(path: Fixtures.path("sweep_weights.safetensors"), options: .init(classes: 7))
        XCTAssertTrue(report.replacedHead)
        XCTAssertEqual(model.config.classes, 7)
        XCTAssertTrue(model.parameterValues(model.layout.headBias).allSatisfy { $0 == 0 })
        XCTAssertTrue(model.parameterValues(model.layout.headWeight).contains { $0 != 0 })
    }

    func testNewLoRAFactorsStartAtTheBaseModel() throws {
        let (model, report) = try PretrainedWeights.load(path: Fixtures.path("sweep_weights.safetensors"), options: .init(loraRank: 4))
        XCTAssertTrue(report.initializedLoRA)
        let a0 = model.parameterValues(model.layout.blocks[0].loraA!), a1 = model.parameterValues(model.layout.blocks[1].loraA!)
        XCTAssertNotEqual(a0, a1, "blocks must not share their initial LoRA A")
        XCTAssertTrue(a0.allSatisfy { abs($0) <= 1 / Float(32).squareRoot() })
        XCTAssertTrue(model.parameterValues(model.layout.blocks[0].loraB!).allSatisfy { $0 == 0 })
        // B = 0: the model computes exactly what the base weights do.
        let batch = try FixtureBatch(try Fixtures.open("sweep_io.safetensors"))
        let expected = try Fixtures.open("sweep_io.safetensors").floats("logits")
        XCTAssertLessThan(TestSupport.relativeError(model.logits(batch.images, batch: batch.batch), expected), 1e-4)
    }

    func testHeadCountDefaultsToWidthOver64WithoutMetadata() throws {
        let path = try writeEdited { _ in }
        // Same tensors, metadata without num_heads: width 32 / 64 rounds up to one head.
        let source = try SafeTensorsFile(path: path)
        var writer = SafeTensorsWriter()
        for t in source.tensors { writer.add(t.name, shape: t.shape, floats: try source.floats(t.name)) }
        try writer.write(to: path)
        XCTAssertEqual(try PretrainedWeights.load(path: path).model.config.heads, 1)
    }

    func testMaskErrors() throws {
        XCTAssertThrowsError(try PEFTMask("0101", method: .parts4, depth: 4).bits) { error in
            XCTAssertTrue(String(describing: error).contains("needs a mask of 16 bits"))
        }
        XCTAssertThrowsError(try PEFTMask("01a1", method: .blockFull, depth: 4).bits) { error in
            XCTAssertTrue(String(describing: error).contains("character 2 is 'a'"))
        }
        XCTAssertThrowsError(try PEFTMask("1", method: .full, depth: 4).bits)
        XCTAssertThrowsError(try PEFTMethod(name: "tune_everything"))
        XCTAssertEqual(try PEFTMethod(name: "auto_peft2"), .parts4)
        XCTAssertEqual(try PEFTMethod(name: "block-parts4"), .parts4)
        let layout = ParameterLayout(config: ViTConfig(imageSize: 32, patchSize: 8, width: 32, depth: 4, heads: 2, classes: 3))
        XCTAssertThrowsError(try TrainableSet(layout: layout, method: .lora))
        let head = try TrainableSet(layout: layout, method: .head)
        XCTAssertEqual(head.trainableCount, 3 * 32 + 3)
        XCTAssertEqual(head.ranges, [layout.views[layout.headWeight].offset..<layout.count])
    }

    /// Frozen means free: nothing is kept when only the head trains, and a last-block mask keeps
    /// only that block's tensors.
    func testFrozenLayersKeepNoActivations() throws {
        let model = try PretrainedWeights.load(path: Fixtures.path("sweep_weights.safetensors")).model
        let batch = try FixtureBatch(try Fixtures.open("sweep_io.safetensors"))
        func kept(_ method: PEFTMethod, _ mask: String?) throws -> Int {
            let bits = try mask.map { try PEFTMask($0, method: method, depth: 4).bits }
            model.setTrainable(try TrainableSet(layout: model.layout, method: method, mask: bits))
            _ = try model.lossAndGradients(batch)
            return model.keptActivationFloats
        }
        XCTAssertEqual(try kept(.head, nil), 0)
        let lastBlock = try kept(.blockFull, "0001")
        let full = try kept(.full, nil)
        XCTAssertGreaterThan(lastBlock, 0)
        XCTAssertLessThanOrEqual(lastBlock * 4, full)
    }

    func testSaveAndLoadRoundTrip() throws {
        let model = try PretrainedWeights.load(path: Fixtures.path("odd_weights.safetensors")).model
        let path = try Fixtures.temporaryDirectory(self) + "/saved.safetensors"
        try PretrainedWeights.save(model, to: path)
        let again = try PretrainedWeights.load(path: path).model
        XCTAssertEqual(again.config, model.config)
        XCTAssertEqual(Array(again.parameters.buffer), Array(model.parameters.buffer))
    }
}
