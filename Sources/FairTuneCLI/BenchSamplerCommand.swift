import Arguments
import Foundation
import JSON
import Randomness
import Search

/// `fairtune bench sampler`: our sampler on a synthetic objective shaped like the mask search, one JSON line
/// per seed (compared with Optuna's samplers by scripts/sampler_quality.py).
let benchSamplerCommand = Command(CommandSpec(
    name: "fairtune bench sampler",
    summary: "Run a sampler on a synthetic mask search (48 bits + a log-uniform lr) and print each seed's best value as JSON lines.",
    options: [
        .value("sampler", "NAME", "tpe or random", default: "tpe"),
        .value("seeds", "N", "seeds 0..<N, one study each", default: "20"),
        .value("trials", "N", "trials per study", default: "60"),
        .value("problem", "NAME", "bits (exact) or noisy-bits (observed with uniform noise of sd 0.5)", default: "bits"),
    ]
)) { args in
    let samplerName = try args.choice("sampler", ["tpe", "random"])!
    let seeds = try args.int("seeds", in: 1...10_000)!
    let trialCount = try args.int("trials", in: 1...100_000)!
    let noisy = try args.choice("problem", ["bits", "noisy-bits"])! == "noisy-bits"
    for seed in 0..<seeds {
        let sampler: any Sampler = samplerName == "tpe" ? TPESampler(seed: UInt64(seed)) : RandomSampler(seed: UInt64(seed))
        let start = Date()
        let best = SyntheticMaskSearch.run(sampler, seed: UInt64(seed), trials: trialCount, noisy: noisy)
        let line: JSONValue = .object([
            ("sampler", .string(samplerName)), ("problem", .string(noisy ? "noisy-bits" : "bits")), ("seed", .number(Double(seed))),
            ("trials", .number(Double(trialCount))), ("best", .number(best.value)), ("best_observed", .number(best.observed)),
            ("best_trial", .number(Double(best.trial))), ("seconds", .number(Date().timeIntervalSince(start))),
        ])
        print(line.compactRendered())
    }
    return ExitStatus.success
}

/// The benchmark objective (maximise), defined identically in scripts/sampler_quality.py:
/// f = Σᵢ sin(1.3 i + 0.5) bᵢ + Σₖ 1.5 b₆ₖ b₆ₖ₊₃ (k < 8) + 3 exp(−½ ((log₁₀ lr + 3.7) / 0.3)²), i < 48.
/// The noisy variant observes f + √3 · 0.5 · (2u − 1), u = `SeededRandom(seed: seed, trial, 0x4E4F495345)`'s first unit draw.
enum SyntheticMaskSearch {
    static let bitCount = 48
    static let space: [(name: String, distribution: Distribution)] =
        (0..<bitCount).map { (name: "Mask Idx \($0)", distribution: .int(low: 0, high: 1, step: 1, log: false)) }
        + [(name: "lr", distribution: .float(low: 1e-5, high: 1e-3, step: nil, log: true))]

    static func value(_ params: [Double]) -> Double {
        var total = 0.0
        for i in 0..<bitCount { total += sin(1.3 * Double(i) + 0.5) * params[i] }
        for k in 0..<8 { total += 1.5 * params[6 * k] * params[6 * k + 3] }
        let z = (log10(params[bitCount]) + 3.7) / 0.3
        return total + 3 * exp(-0.5 * z * z)
    }

    static func noise(seed: UInt64, trial: Int) -> Double {
        var generator = SeededRandom(seed: seed, UInt64(trial), 0x4E_4F49_5345)  // "NOISE"
        return 3.0.squareRoot() * 0.5 * (2 * generator.nextUnit() - 1)
    }

    /// One study: the true value and the observed value of the trial observed best, and its number.
    static func run(_ sampler: any Sampler, seed: UInt64, trials trialCount: Int, noisy: Bool) -> (value: Double, observed: Double, trial: Int) {
        var trials: [Trial] = []
        var best = (value: -Double.infinity, observed: -Double.infinity, trial: -1)
        for number in 0..<trialCount {
            let params = sampler.sample(space: space, trials: trials, directions: [.maximize], trialNumber: number)
            let truth = value(params)
            let observed = noisy ? truth + noise(seed: seed, trial: number) : truth
            var trial = Trial(number: number, id: number, state: .complete, creatorWorkerID: "bench")
            trial.params = zip(space, params).map { (name: $0.name, value: $1) }
            for (name, distribution) in space { trial.distributions[name] = distribution }
            trial.values = [observed]
            trials.append(trial)
            if observed > best.observed { best = (truth, observed, number) }
        }
        return best
    }
}
