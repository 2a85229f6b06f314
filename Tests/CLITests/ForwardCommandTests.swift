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
            (["--ranks", "2", "--profile"], "--profile times the kernels of one process; run it without --ranks"),
        ] {
            let r = try TestSupport.fairtune(["bench", "train"] + arguments)
            #expect(r.status == 1, "\(arguments) exited \(r.status)")
            #expect(r.stderr.contains(message), "\(arguments): \(r.stderr)")
        }
    }
}

/// `fairtune bench train --profile` on a tiny model: a row per kernel site with its shape, and the
/// rest of the step.
@Suite struct BenchTrainProfileTests {
    @Test func profilePrintsEveryKernelSiteAndTheRest() throws {
        let r = try TestSupport.fairtune(["bench", "train", "--model", "vit_tiny_patch16_224", "--batch-size", "2",
                                          "--steps", "1", "--precision", "fp32", "--gemm", "openblas",
                                          "--tuning", "block-parts4", "--mask", String(repeating: "0001", count: 12),
                                          "--profile"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("profile of train block-parts4: a step of") })
        // ViT-Ti: width 192, 3 heads; 2 images of 197 tokens. fc2 trains in the last block only,
        // which runs past qkv on the class rows.
        let qkv = lines.filter { $0.hasPrefix("linear forward, openblas fp32") && $0.contains("394×192→576") }
        #expect(qkv.count == 1 && qkv[0].contains("    12  "), "\(qkv)")
        #expect(lines.contains { $0.hasPrefix("class-token attention backward") && $0.contains("2×3 heads×197×64") })
        #expect(lines.contains { $0.hasPrefix("linear backward, openblas fp32") && $0.contains("2×768→192") })
        #expect(lines.contains { $0.hasPrefix("outside these kernels") })
    }
}
