import Foundation
import JSON
import Tensor
import TestSupport
import Testing
import Training

@Suite struct GEMMChoiceTests {
    @Test func candidatesFollowTheRequest() throws {
        #expect(try GEMMRequest(precision: .fp32).candidates(bf16Available: true) == [.openblasFP32])
        #expect(try GEMMRequest(library: .auto, precision: .fp32).candidates(bf16Available: true) == [.openblasFP32, .onednnFP32])
        #expect(try GEMMRequest(library: .onednn, precision: .auto).candidates(bf16Available: true) == [.onednnFP32, .onednnBF16])
        #expect(try GEMMRequest(precision: .auto).candidates(bf16Available: true) == [.openblasFP32, .onednnFP32, .onednnBF16])
        #expect(try GEMMRequest(precision: .auto).candidates(bf16Available: false) == [.openblasFP32, .onednnFP32])
        #expect(try GEMMRequest(library: .onednn, precision: .bf16).candidates(bf16Available: true) == [.onednnBF16])
        #expect(throws: TrainingError.self) { try GEMMRequest(library: .openblas, precision: .bf16).candidates(bf16Available: true) }
        #expect(throws: TrainingError.self) { try GEMMRequest(precision: .bf16).candidates(bf16Available: false) }
    }

    /// A measured choice is cached in the run folder and reused for the same CPU, threads and
    /// workload (a resumed run chooses as its first session did); another workload measures again.
    @Test func measuredChoiceIsCachedPerWorkload() throws {
        let folder = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let cache = folder.appendingPathComponent("gemm-selection.json").path
        let small = GEMMSelection.Workload(batch: 2, tokens: 17, width: 32, mlpWidth: 128, heads: 2)
        let candidates: [GEMMMode] = [.openblasFP32, .onednnFP32]
        let first = try GEMMChoice.resolve(candidates: candidates, workload: small, threads: 1, cacheFile: cache)
        #expect(first.reason == "measured at start-up")
        #expect(first.measurements.count == 4 && first.measurements.allSatisfy { $0.gflops > 0 })
        let again = try GEMMChoice.resolve(candidates: candidates, workload: small, threads: 1, cacheFile: cache)
        #expect(again.reason.hasPrefix("measured earlier on this CPU"))
        #expect(again.modes == first.modes)
        var other = small
        other.batch = 3
        #expect(try GEMMChoice.resolve(candidates: candidates, workload: other, threads: 1, cacheFile: cache).reason == "measured at start-up")
        let file = try JSONValue.parse(String(contentsOfFile: cache, encoding: .utf8))
        #expect(file["choices"]?.arrayValue?.count == 2)
        let forced = try GEMMChoice.resolve(candidates: [.onednnBF16], workload: small, threads: 1, cacheFile: nil)
        #expect(forced.modes == GEMMModes(.onednnBF16) && forced.reason == "forced by --gemm/--precision")
    }
}
