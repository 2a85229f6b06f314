import Foundation
import JSON
import TestSupport
import Testing

/// `fairtune bench sampler`: one JSON line per seed, seeded, and usage errors.
@Suite struct BenchSamplerTests {
    @Test func printsOneSeededLinePerSeed() throws {
        let arguments = ["bench", "sampler", "--sampler", "tpe", "--seeds", "2", "--trials", "12", "--problem", "noisy-bits"]
        let first = try TestSupport.fairtune(arguments), second = try TestSupport.fairtune(arguments)
        #expect(first.status == 0, "\(first.stderr)")
        let parse = { (text: String) in text.split(separator: "\n").map { try? JSONValue.parse(String($0)) } }
        let lines = parse(first.stdout)
        #expect(lines.count == 2)
        #expect(lines.map { $0?["seed"]?.intValue } == [0, 1])
        #expect(lines.allSatisfy { ($0?["best"]?.doubleValue ?? .nan).isFinite && $0?["trials"]?.intValue == 12 })
        // Seeded: the same best values and trials again (only the timings differ).
        #expect(lines.map { $0?["best_observed"]?.doubleValue } == parse(second.stdout).map { $0?["best_observed"]?.doubleValue })
        #expect(lines.map { $0?["best_trial"]?.intValue } == parse(second.stdout).map { $0?["best_trial"]?.intValue })
    }

    @Test func rejectsUnknownSampler() throws {
        let result = try TestSupport.fairtune(["bench", "sampler", "--sampler", "grid"])
        #expect(result.status == 2 && result.stderr.contains("grid") && result.stdout.isEmpty)
    }
}
