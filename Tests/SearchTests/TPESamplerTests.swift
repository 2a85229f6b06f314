import Foundation
import JSON
import Search
import Testing

@Suite struct TPESamplerTests {
    static let bit = Distribution.int(low: 0, high: 1, step: 1, log: false)
    static let lr = Distribution.float(low: 1e-5, high: 1e-3, step: nil, log: true)

    static func trial(_ number: Int, _ state: TrialState, _ params: [(String, Double)], space: [(name: String, distribution: Distribution)],
                      value: Double?, intermediate: [(Int, Double)] = []) -> Trial {
        var trial = Trial(number: number, id: number, state: state, creatorWorkerID: "test")
        trial.params = params.map { (name: $0.0, value: $0.1) }
        for (name, distribution) in space { trial.distributions[name] = distribution }
        if let value { trial.values = [value] }
        for (step, value) in intermediate { trial.intermediateValues[step] = value }
        return trial
    }

    /// Optuna's TPESampler (600 seeds) and ours (600 seeds) choose the next trial after the same history
    /// (COMPLETE, PRUNED and RUNNING trials): each bit's frequency of 1 within 5 standard errors of the
    /// difference (Optuna's draws use numpy's streams, ours SplitMix64), and the lr's quantiles within 0.15 decades.
    @Test func choicesMatchOptunasInDistribution() throws {
        let fixture = try SearchFixtures.load("tpe_frequencies.json")
        let names = fixture["names"]!.arrayValue!.map { $0.stringValue! }
        let space = names.map { (name: $0, distribution: $0 == "lr" ? TPESamplerTests.lr : TPESamplerTests.bit) }
        let history = fixture["history"]!.arrayValue!.enumerated().map { number, item in
            let params = names.map { ($0, item["params"]![$0]!.doubleValue!) }
            let state = SearchFixtures.state(item["state"]?.stringValue)
            let steps = item["intermediate"]!.arrayValue!.map { ($0.arrayValue![0].intValue!, $0.arrayValue![1].doubleValue!) }
            return TPESamplerTests.trial(number, state, params, space: space, value: state == .complete ? item["value"]!.doubleValue! : nil, intermediate: steps)
        }
        let seeds = fixture["seeds"]!.intValue!
        let choices = (0..<seeds).map { seed in
            TPESampler(seed: UInt64(seed)).sample(space: space, trials: history, directions: [.maximize], trialNumber: history.count)
        }
        for (index, reference) in SearchFixtures.numbers(fixture["bit_frequencies"]).enumerated() {
            let ours = Double(choices.filter { $0[index] == 1 }.count) / Double(seeds)
            let pooled = (ours + reference) / 2
            let bound = max(5 * (2 * pooled * (1 - pooled) / Double(seeds)).squareRoot(), 0.02)
            #expect(abs(ours - reference) <= bound, "\(names[index]): ours \(ours), Optuna \(reference)")
        }
        let logLR = choices.map { log10($0[names.count - 1]) }.sorted()
        for (quantile, reference) in zip([0.1, 0.25, 0.5, 0.75, 0.9], SearchFixtures.numbers(fixture["log10_lr_quantiles"])) {
            let ours = logLR[Int(quantile * Double(seeds - 1))]
            #expect(abs(ours - reference) < 0.15, "log10 lr quantile \(quantile): ours \(ours), Optuna \(reference)")
        }
    }

    /// Start-up: random until 10 COMPLETE or PRUNED trials (FAIL, WAITING and RUNNING do not count), and a
    /// choice depends only on the trials, the seed and the trial number.
    @Test func startupCountsFinishedTrialsAndIsSeeded() {
        let space = [(name: "Mask Idx 0", distribution: TPESamplerTests.bit), (name: "lr", distribution: TPESamplerTests.lr)]
        let states: [TrialState] = [.complete, .pruned, .fail, .waiting, .running]
        let trials = (0..<30).map { TPESamplerTests.trial($0, states[$0 % 5], [("Mask Idx 0", 1), ("lr", 1e-4)], space: space, value: 1) }
        let tpe = TPESampler(seed: 3), random = RandomSampler(seed: 3)
        let beforeStartup = Array(trials.prefix(21))  // 5 COMPLETE + 4 PRUNED, and 12 that do not count
        #expect(tpe.sample(space: space, trials: beforeStartup, directions: [.minimize], trialNumber: 30)
                == random.sample(space: space, trials: beforeStartup, directions: [.minimize], trialNumber: 30))
        let first = tpe.sample(space: space, trials: trials, directions: [.minimize], trialNumber: 30)
        #expect(first == tpe.sample(space: space, trials: trials, directions: [.minimize], trialNumber: 30))
        #expect(first != tpe.sample(space: space, trials: trials, directions: [.minimize], trialNumber: 31)
                || first != TPESampler(seed: 4).sample(space: space, trials: trials, directions: [.minimize], trialNumber: 30))
        #expect(TPESamplerTests.bit.contains(first[0]) && TPESamplerTests.lr.contains(first[1]))
    }

    /// The constant liar: RUNNING trials at the favourite choice make new choices avoid it.
    @Test func runningTrialsRepelNewChoices() {
        let space = (0..<4).map { (name: "Mask Idx \($0)", distribution: TPESamplerTests.bit) }
        // Every corner once, the more ones the better (Optuna 5 then picks 1110 for 198 of 200 seeds).
        var trials = (0..<16).map { number in
            TPESamplerTests.trial(number, .complete, (0..<4).map { ("Mask Idx \($0)", Double((number >> $0) & 1)) }, space: space,
                                  value: -Double(number.nonzeroBitCount))
        }
        let choices = { (trials: [Trial]) in
            (0..<200).map { seed in TPESampler(seed: UInt64(seed)).sample(space: space, trials: trials, directions: [.minimize], trialNumber: 99) }
        }
        let favourite: [Double] = [1, 1, 1, 0]
        let before = choices(trials).filter { $0 == favourite }.count
        for number in 16..<40 { trials.append(TPESamplerTests.trial(number, .running, zip(space, favourite).map { ($0.name, $1) }, space: space, value: nil)) }
        let after = choices(trials).filter { $0 == favourite }.count
        #expect(before > 150 && after < before / 2, "1110 chosen \(before) times of 200 without, \(after) with 24 RUNNING trials there")
    }

    /// Two objectives: univariate TPE over the non-dominated split; choices stay valid and seeded.
    @Test func twoObjectivesSampleValidPoints() {
        let space = [(name: "Mask Idx 0", distribution: TPESamplerTests.bit), (name: "lr", distribution: TPESamplerTests.lr),
                     (name: "choice", distribution: Distribution.categorical(choices: ["a", "b"]))]
        let trials = (0..<20).map { number -> Trial in
            var trial = TPESamplerTests.trial(number, .complete, [("Mask Idx 0", Double(number % 2)), ("lr", 1e-5 * Double(number + 1)), ("choice", Double(number % 2))],
                                              space: space, value: nil)
            trial.values = [Double(number % 7) / 7, Double(number % 3)]
            return trial
        }
        let sampler = TPESampler(seed: 11)
        let choice = sampler.sample(space: space, trials: trials, directions: [.maximize, .minimize], trialNumber: 20)
        #expect(zip(space, choice).allSatisfy { $0.distribution.contains($1) })
        #expect(choice == sampler.sample(space: space, trials: trials, directions: [.maximize, .minimize], trialNumber: 20))
    }
}
