import Arguments
import Foundation
import Metrics
import Randomness

/// `fairtune bench metrics`: seconds for a full evaluation and for a bootstrap on generated data.
let benchMetricsCommand = Command(CommandSpec(
    name: "fairtune bench metrics",
    summary: "Time every metric on a generated split (no bootstrap), then a bootstrap of the headline metrics.",
    options: [
        .value("samples", "N", "samples in the split", default: "100000"),
        .value("groups", "G", "groups of the one sensitive attribute", default: "6"),
        .value("resamples", "B", "bootstrap resamples", default: "1000"),
        .value("seed", "S", "seed of the generated data", default: "1"),
    ]
)) { args in
    let n = try args.int("samples", in: 2...100_000_000)!
    let groupCount = try args.int("groups", in: 1...10_000)!
    let resamples = try args.int("resamples", in: 1...1_000_000)!
    var generator = Xoshiro256(seed: UInt64(try args.int("seed", in: 0...Int.max)!))
    // Scores with some signal, rounded to 4 decimals so there are ties; 2% unknown group.
    var labels = [Int](repeating: 0, count: n)
    var scores = [Double](repeating: 0, count: n)
    var codes = [Int](repeating: 0, count: n)
    for i in 0..<n {
        labels[i] = Int(generator.next(below: 2))
        let noise = Double(generator.next(below: 1 << 20)) / Double(1 << 20)
        scores[i] = ((0.7 * noise + 0.3 * Double(labels[i])) * 10_000).rounded() / 10_000
        codes[i] = generator.next(below: 50) == 0 ? -1 : Int(generator.next(below: UInt64(groupCount)))
    }
    let attribute = try SensitiveAttribute(name: "group", groupNames: (0..<groupCount).map { "g\($0)" }, codes: codes)
    let predictions = try Predictions.binary(scores: scores, kind: .probabilities, labels: labels)

    let start = Date()
    let evaluator = try MetricsEvaluator(predictions: predictions, attributes: [attribute])
    let report = evaluator.evaluate()
    let evaluateSeconds = Date().timeIntervalSince(start)
    let bootstrapStart = Date()
    let intervals = try evaluator.bootstrap(BootstrapOptions(resamples: resamples, seed: 0))
    let bootstrapSeconds = Date().timeIntervalSince(bootstrapStart)

    print("split: \(n) samples, \(groupCount) groups, AUC \(report.overall.auc), worst-group AUC \(try report.value(of: .worstGroupAUC, attribute: "group"))")
    print(String(format: "all metrics, no bootstrap:        %8.3f s", evaluateSeconds))
    print(String(format: "bootstrap, %7d resamples:      %8.3f s  (%d intervals)", resamples, bootstrapSeconds, intervals.count))
    return ExitStatus.success
}
