import JSON
@testable import Search
import Testing

/// Optuna 5.0.0's `_split_trials` on the same trials: which go below (l(x)) and above (g(x)).
@Suite struct TPESplitTests {
    static func trials(_ value: JSONValue) -> [Trial] {
        value.arrayValue!.map { item in
            var trial = Trial(number: item["number"]!.intValue!, id: item["number"]!.intValue!,
                              state: SearchFixtures.state(item["state"]?.stringValue), creatorWorkerID: "fixture")
            if let values = item["values"], !values.isNull { trial.values = SearchFixtures.numbers(values) }
            for pair in item["intermediate"]!.arrayValue! {
                trial.intermediateValues[pair.arrayValue![0].intValue!] = pair.arrayValue![1].doubleValue!
            }
            return trial
        }
    }

    static func direction(_ name: String?) -> StudyDirection { name == "maximize" ? .maximize : .minimize }

    @Test func matchesOptunasSplit() throws {
        let cases = try SearchFixtures.load("splits.json")["cases"]!.arrayValue!
        #expect(cases.count == 27)
        for item in cases {
            let trials = TPESplitTests.trials(item["trials"]!)
            let directions = item["directions"]!.arrayValue!.map { TPESplitTests.direction($0.stringValue) }
            let split = TPESampler.split(trials, nBelow: item["n_below"]!.intValue!, directions: directions)
            let name = item["name"]!.stringValue!
            #expect(split.below.map(\.number) == SearchFixtures.numbers(item["below"]).map { Int($0) }, "\(name) below")
            #expect(split.above.map(\.number) == SearchFixtures.numbers(item["above"]).map { Int($0) }, "\(name) above")
        }
    }

    @Test func paretoRanksPeelFronts() {
        let losses: [[Double]] = [[1, 4], [2, 2], [4, 1], [2, 3], [3, 3], [1, 4], [5, 5]]
        #expect(Pareto.nonDominationRanks(losses) == [0, 0, 0, 1, 2, 0, 3])
        #expect(Pareto.nonDominationRanks(losses, nBelow: 3) == [0, 0, 0, 1, 1, 0, 1])
        #expect(Pareto.dominates([1, 2], [1, 3]) && !Pareto.dominates([1, 2], [1, 2]) && !Pareto.dominates([0, 3], [1, 2]))
    }
}
