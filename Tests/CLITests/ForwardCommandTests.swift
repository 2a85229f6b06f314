import Foundation
import SafeTensors
import TestSupport
import Testing

/// `fairtune forward` end to end on the committed timm fixtures (see Tests/Fixtures/README.md, vit).
@Suite struct ForwardCommandTests {
    let fixtures = TestSupport.fixtures("vit")

    @Test func gradientsOfAMaskedMethodMatchPyTorch() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.safetensors").path
        let io = fixtures.appendingPathComponent("sweep_io.safetensors").path
        let r = try TestSupport.fairtune([
            "forward", "--weights", fixtures.appendingPathComponent("sweep_weights.safetensors").path,
            "--input", io, "--labels", io, "--out", out, "--tuning", "auto_peft2", "--mask", "0000000010110001",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let ours = try SafeTensorsFile(path: out)
        let expected = try SafeTensorsFile(path: fixtures.appendingPathComponent("sweep_method_auto_peft2.safetensors").path)
        #expect(Set(ours.tensors.map(\.name)) == Set(expected.tensors.map(\.name)))
        for tensor in expected.tensors {
            let error = TestSupport.relativeError(try ours.floats(tensor.name), try expected.floats(tensor.name))
            #expect(error <= (tensor.name == "logits" ? 1e-4 : 1e-3), "\(tensor.name): relative error \(error)")
        }
    }

    @Test func badMaskAndInputFailWithoutOutput() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.safetensors").path
        let weights = fixtures.appendingPathComponent("sweep_weights.safetensors").path
        let io = fixtures.appendingPathComponent("sweep_io.safetensors").path
        for (arguments, message) in [
            (["--input", io, "--tuning", "auto_peft2", "--mask", "0101"], "needs a mask of 16 bits"),
            (["--input", io, "--tuning", "block-full", "--mask", "01x1"], "character 2 is 'x'"),
            (["--input", io, "--tuning", "everything"], "unknown tuning method 'everything'"),
            (["--input", weights], "no tensor 'x'"),
        ] {
            let r = try TestSupport.fairtune(["forward", "--weights", weights, "--out", out] + arguments)
            #expect(r.status == 1, "\(arguments) exited \(r.status)")
            #expect(r.stderr.contains(message), "\(arguments): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }
}

/// `fairtune bench train` argument checks (timing itself is the lead's, on a quiet machine).
@Suite struct BenchTrainCommandTests {
    @Test func badModelOrMaskFailsBeforeAnyWork() throws {
        for (arguments, message) in [
            (["--model", "vit_huge_patch14_224"], "unknown model size 'huge'"),
            (["--model", "resnet50"], "unknown model 'resnet50'"),
            (["--tuning", "auto_peft2", "--mask", "0101"], "needs a mask of 48 bits"),
        ] {
            let r = try TestSupport.fairtune(["bench", "train"] + arguments)
            #expect(r.status == 1, "\(arguments) exited \(r.status)")
            #expect(r.stderr.contains(message), "\(arguments): \(r.stderr)")
        }
    }
}
