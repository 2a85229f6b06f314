import JSON
import Search
import Testing

/// Optuna 5.0.0's MedianPruner and SuccessiveHalvingPruner answered every report of trials run a few at a
/// time; replaying the same reports, ours must answer the same.
@Suite struct PrunerTests {
    static func pruner(_ item: JSONValue) -> any Pruner {
        let options = item["options"]!
        if item["pruner"]?.stringValue == "median" {
            return MedianPruner(startupTrials: options["startup_trials"]?.intValue ?? 5, warmupSteps: options["warmup_steps"]?.intValue ?? 0,
                                intervalSteps: options["interval_steps"]?.intValue ?? 1)
        }
        return SuccessiveHalvingPruner(minResource: options["min_resource"]?.intValue, reductionFactor: options["reduction_factor"]?.intValue ?? 4,
                                       minEarlyStoppingRate: options["min_early_stopping_rate"]?.intValue ?? 0)
    }

    @Test func replaysOptunasDecisions() throws {
        let cases = try SearchFixtures.load("pruners.json")["cases"]!.arrayValue!
        #expect(cases.count == 8)
        for item in cases {
            let pruner = PrunerTests.pruner(item)
            let direction: StudyDirection = item["direction"]?.stringValue == "maximize" ? .maximize : .minimize
            var trials: [Trial] = []
            var pruned = 0
            for event in item["events"]!.arrayValue! {
                let number = event["trial"]!.intValue!, step = event["step"]!.intValue!
                if !trials.contains(where: { $0.number == number }) {
                    trials.append(Trial(number: number, id: number, state: .running, creatorWorkerID: "fixture"))
                }
                let index = trials.firstIndex { $0.number == number }!
                let value = event["value"]!.doubleValue!
                trials[index].intermediateValues[step] = value
                let ours = pruner.shouldPrune(trial: trials[index], step: step, trials: trials, direction: direction)
                let expected = event["prune"]!.boolValue!
                #expect(ours == expected, "\(item["pruner"]!.stringValue!) \(item["options"]!.compactRendered()) \(direction): trial \(number) step \(step)")
                pruned += expected ? 1 : 0
                switch event["finish"]?.stringValue {
                case "pruned": trials[index].state = .pruned; trials[index].values = [value]
                case "complete": trials[index].state = .complete; trials[index].values = [value]
                default: break
                }
            }
            #expect(pruned > 0, "the case exercises pruning")
        }
    }

    @Test func medianIsNumpysPercentile() {
        #expect(MedianPruner.percentile([3, 1, 2], 50) == 2)
        #expect(MedianPruner.percentile([4, 1, .nan, 2, 3], 50) == 2.5)
        #expect(MedianPruner.percentile([.nan], 50) == nil)
    }
}

@Suite struct SuccessiveHalvingTests {
    func trial(_ number: Int, _ state: TrialState, _ values: [Double]) -> Trial {
        var trial = Trial(number: number, id: number, state: state, creatorWorkerID: "test")
        for (step, value) in values.enumerated() { trial.intermediateValues[step] = value }
        return trial
    }

    /// "auto": no pruning before a trial completes; then the longest COMPLETE trial's last step / 100 (at least 1).
    @Test func autoMinResourceNeedsACompleteTrial() {
        let pruner = SuccessiveHalvingPruner()
        let bad = trial(2, .running, [9, 9])
        let others = [trial(0, .running, [1, 1]), trial(1, .running, [1, 1]), bad]
        #expect(!pruner.shouldPrune(trial: bad, step: 1, trials: others, direction: .minimize))
        let finished = [trial(0, .complete, [1, 1]), trial(1, .complete, [1, 1]), bad]
        #expect(pruner.shouldPrune(trial: bad, step: 1, trials: finished, direction: .minimize))
        // 300 steps: min resource 3, so step 1 is before the first rung.
        let long = [trial(0, .complete, [Double](repeating: 1, count: 301)), bad]
        #expect(!pruner.shouldPrune(trial: bad, step: 1, trials: long, direction: .minimize))
    }
}
