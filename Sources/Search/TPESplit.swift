import Foundation
import JSON

extension TPESampler {
    /// Optuna's `default_gamma` (one objective: ⌈0.1 n⌉ capped at 25) and `default_gamma_multiobjective`
    /// (no cap): how many of n finished trials go below.
    public static func gamma(_ finishedCount: Int, objectives: Int) -> Int {
        let count = Int((0.1 * Double(finishedCount)).rounded(.up))
        return objectives <= 1 ? min(count, 25) : count
    }

    /// Optuna's `_split_trials`: the best `nBelow` COMPLETE trials (by value; several objectives: by
    /// non-domination rank, ties by hypervolume subset selection), then if short the best PRUNED ones (furthest
    /// step first, then value there; NaN worst), go below; the rest and every RUNNING trial go above.
    /// Both lists are ordered by trial number.
    public static func split(_ trials: [Trial], nBelow: Int, directions: [StudyDirection]) -> (below: [Trial], above: [Trial]) {
        let complete = trials.filter { $0.state == .complete && $0.values?.count == directions.count }
        let pruned = trials.filter { $0.state == .pruned }
        let running = trials.filter { $0.state == .running }
        let completeSplit = directions.count <= 1
            ? splitSingleObjective(complete, nBelow: min(nBelow, complete.count), direction: directions.first ?? .minimize)
            : splitMultiObjective(complete, nBelow: min(nBelow, complete.count), directions: directions)
        let prunedQuota = min(max(0, nBelow - completeSplit.below.count), pruned.count)
        let prunedOrder = stableSorted(pruned) { prunedKey($0, direction: directions.first ?? .minimize) }
        let below = completeSplit.below + prunedOrder.prefix(prunedQuota)
        let above = completeSplit.above + prunedOrder.dropFirst(prunedQuota) + running
        return (below.sorted { $0.number < $1.number }, above.sorted { $0.number < $1.number })
    }

    static func splitSingleObjective(_ trials: [Trial], nBelow: Int, direction: StudyDirection) -> (below: [Trial], above: [Trial]) {
        let sign = direction == .maximize ? -1.0 : 1.0
        let order = stableSorted(trials) { [sign * $0.values![0]] }
        return (Array(order.prefix(nBelow)), Array(order.dropFirst(nBelow)))
    }

    static func splitMultiObjective(_ trials: [Trial], nBelow: Int, directions: [StudyDirection]) -> (below: [Trial], above: [Trial]) {
        if nBelow == 0 { return ([], trials) }
        if nBelow == trials.count { return (trials, []) }
        let losses = trials.map { trial in zip(trial.values!, directions).map { $1 == .maximize ? -$0 : $0 } }
        let ranks = Pareto.nonDominationRanks(losses, nBelow: nBelow)
        var lastFullRank = -1, counted = 0
        for rank in Set(ranks).sorted() {
            counted += ranks.filter { $0 == rank }.count
            if counted > nBelow { break }
            lastFullRank = rank
        }
        var chosen = Set(trials.indices.filter { ranks[$0] <= lastFullRank })
        if chosen.count < nBelow {
            let tied = trials.indices.filter { ranks[$0] == lastFullRank + 1 }
            let tiedLosses = tied.map { losses[$0] }
            let picked = Pareto.hypervolumeSubset(tiedLosses, subsetSize: nBelow - chosen.count, reference: Pareto.referencePoint(tiedLosses))
            chosen.formUnion(picked.map { tied[$0] })
        }
        return (trials.indices.filter { chosen.contains($0) }.map { trials[$0] },
                trials.indices.filter { !chosen.contains($0) }.map { trials[$0] })
    }

    /// A PRUNED trial's rank key: (−last step, its value there, negated when maximising; NaN last);
    /// (1, 0) without intermediate values.
    static func prunedKey(_ trial: Trial, direction: StudyDirection) -> [Double] {
        guard let last = trial.lastIntermediate else { return [1, 0] }
        if last.value.isNaN { return [Double(-last.step), .infinity] }
        return [Double(-last.step), direction == .maximize ? -last.value : last.value]
    }

    /// `trials` ordered by `key` (lexicographic), ties in their given order (Python's `sorted`).
    static func stableSorted(_ trials: [Trial], key: (Trial) -> [Double]) -> [Trial] {
        let keys = trials.map(key)
        return trials.indices.sorted { a, b in
            keys[a] != keys[b] ? keys[a].lexicographicallyPrecedes(keys[b]) : a < b
        }.map { trials[$0] }
    }

    /// The parameters of `space` that every finished trial has with the same distribution, that can take
    /// more than one value (Optuna's `IntersectionSearchSpace(include_pruned=True)`), as indices into `space`.
    static func jointSpace(_ space: [(name: String, distribution: Distribution)], finished: [Trial]) -> [Int] {
        guard !finished.isEmpty else { return [] }
        return space.indices.filter { index in
            let (name, distribution) = space[index]
            return !isSingle(distribution) && finished.allSatisfy { $0.distributions[name] == distribution }
        }
    }

    static func isSingle(_ distribution: Distribution) -> Bool {
        switch distribution {
        case let .int(low, high, step, log): return low == high || (!log && high - low < step)
        case let .float(low, high, step, _): return low == high || (step.map { high - low < $0 } ?? false)
        case let .categorical(choices): return choices.count == 1
        }
    }

    /// A trial's parameters in internal representation; for an unfinished trial of a multivariate study, merged
    /// over the joint sample Optuna's TPE stores in the system attributes `tpe:relative_params:<i>` (JSON, external
    /// values), so RUNNING trials of Optuna's own workers count before they have set every parameter.
    static func observedParams(_ trial: Trial, space: [(name: String, distribution: Distribution)], multivariate: Bool) -> [String: Double] {
        var params: [String: Double] = [:]
        if !trial.state.isFinished && multivariate {
            var text = "", part = 0
            while let chunk = trial.systemAttribute("tpe:relative_params:\(part)")?.stringValue {
                text += chunk
                part += 1
            }
            if !text.isEmpty, let stored = (try? JSONValue.parse(text))?.objectValue {
                for (name, value) in stored {
                    guard let distribution = space.first(where: { $0.name == name })?.distribution else { continue }
                    if case let .categorical(choices) = distribution {
                        if let choice = value.stringValue, let index = choices.firstIndex(of: choice) { params[name] = Double(index) }
                    } else if let number = value.doubleValue {
                        params[name] = number
                    }
                }
            }
        }
        for (name, value) in trial.params { params[name] = value }
        return params
    }
}
