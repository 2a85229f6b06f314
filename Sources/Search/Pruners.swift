import Foundation

/// Optuna's `MedianPruner` (its `PercentilePruner` at 50): after `startupTrials` COMPLETE trials, from step
/// `warmupSteps` on, every `intervalSteps`, prune a trial whose best value so far is worse than the median of
/// the COMPLETE trials' values at this step (NaN-ignoring, linear interpolation), given at least `minTrials` of them.
public struct MedianPruner: Pruner {
    public var startupTrials: Int
    public var warmupSteps: Int
    public var intervalSteps: Int
    public var minTrials: Int

    public init(startupTrials: Int = 5, warmupSteps: Int = 0, intervalSteps: Int = 1, minTrials: Int = 1) {
        self.startupTrials = startupTrials
        self.warmupSteps = warmupSteps
        self.intervalSteps = max(intervalSteps, 1)
        self.minTrials = max(minTrials, 1)
    }

    /// `step` is the step just reported (Optuna's `trial.last_step`).
    public func shouldPrune(trial: Trial, step: Int, trials: [Trial], direction: StudyDirection) -> Bool {
        let complete = trials.filter { $0.state == .complete }
        if complete.isEmpty || complete.count < startupTrials { return false }
        if trial.intermediateValues[step] == nil || step < warmupSteps { return false }
        // Judge only at the first report in each interval (a skipped check waits for the next report).
        let nearestCheck = (step - warmupSteps) / intervalSteps * intervalSteps + warmupSteps
        let previousStep = trial.intermediateValues.keys.filter { $0 != step }.max() ?? -1
        if previousStep >= nearestCheck { return false }
        let reported = trial.intermediateValues.values.filter { !$0.isNaN }
        guard let best = direction == .maximize ? reported.max() : reported.min() else { return true }
        let atStep = complete.compactMap { $0.intermediateValues[step] }
        if atStep.count < minTrials { return false }
        guard let median = MedianPruner.percentile(atStep, 50) else { return false }
        return direction == .maximize ? best < median : best > median
    }

    /// numpy's `nanpercentile` with linear interpolation (NaNs dropped; nil when nothing is left).
    public static func percentile(_ values: [Double], _ percent: Double) -> Double? {
        let sorted = values.filter { !$0.isNaN }.sorted()
        guard !sorted.isEmpty else { return nil }
        let position = percent / 100 * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        let fraction = position - Double(lower)
        let (a, b) = (sorted[lower], sorted[upper])
        // numpy's lerp: from the nearer end, so fraction 1 gives b exactly.
        return fraction >= 0.5 ? b - (b - a) * (1 - fraction) : a + (b - a) * fraction
    }
}

/// Optuna's `SuccessiveHalvingPruner` (asynchronous successive halving): rung r is reached at step
/// minResource × reductionFactor^(minEarlyStoppingRate + r); a trial reaching a rung continues only if its
/// value there is in the top 1/reductionFactor of every trial's value at that rung (or the best when fewer).
///
/// Pure, unlike Optuna: Optuna stores each trial's value at each rung as a system attribute
/// `completed_rung_<r>` when it reaches the rung; here the rung values are recomputed from the trials'
/// intermediate values (the value at the first reported step at or past the rung, as Optuna records it when
/// the pruner is asked after every report). Identical when trials report and ask at every step; a PRUNED
/// trial that crossed several rungs in one report counts at all of them (Optuna stops recording at the rung
/// it failed). With `minResource` nil ("auto": max(last step of the longest COMPLETE trial / 100, 1)) nothing
/// is pruned before a trial completes, as in Optuna, but then the estimate is recomputed at every call (Optuna
/// keeps its first one) and rungs count from every report (Optuna records none before its estimate exists, so
/// reports made before the first COMPLETE trial do not compete there).
public struct SuccessiveHalvingPruner: Pruner {
    public var minResource: Int?
    public var reductionFactor: Int
    public var minEarlyStoppingRate: Int
    public var bootstrapCount: Int

    public init(minResource: Int? = nil, reductionFactor: Int = 4, minEarlyStoppingRate: Int = 0, bootstrapCount: Int = 0) {
        self.minResource = minResource.map { max($0, 1) }
        self.reductionFactor = max(reductionFactor, 2)
        self.minEarlyStoppingRate = max(minEarlyStoppingRate, 0)
        self.bootstrapCount = max(bootstrapCount, 0)
    }

    /// `step` is the step just reported (Optuna's `trial.last_step`).
    public func shouldPrune(trial: Trial, step: Int, trials: [Trial], direction: StudyDirection) -> Bool {
        guard let value = trial.intermediateValues[step], let resource = minResource ?? estimatedMinResource(trials) else { return false }
        var rung = rungValues(trial, resource: resource, before: step).count
        let others = trials.filter { $0.number != trial.number }.map { rungValues($0, resource: resource, before: nil) }
        while step >= promotionStep(rung, resource: resource) {
            if value.isNaN { return true }
            let competing = others.compactMap { $0.count > rung ? $0[rung] : nil } + [value]
            if competing.count <= bootstrapCount { return true }
            if !isPromotable(value, competing: competing, direction: direction) { return true }
            rung += 1
        }
        return false
    }

    func promotionStep(_ rung: Int, resource: Int) -> Int {
        var step = resource
        for _ in 0..<(minEarlyStoppingRate + rung) { step *= reductionFactor }
        return step
    }

    func estimatedMinResource(_ trials: [Trial]) -> Int? {
        let lastSteps = trials.filter { $0.state == .complete }.compactMap { $0.lastIntermediate?.step }
        return lastSteps.max().map { max($0 / 100, 1) }
    }

    /// The value a trial recorded at each rung it reached, from its reports before `before` (nil: all).
    func rungValues(_ trial: Trial, resource: Int, before: Int?) -> [Double] {
        var values: [Double] = []
        for step in trial.intermediateValues.keys.sorted() where before.map({ step < $0 }) ?? true {
            let value = trial.intermediateValues[step]!
            while step >= promotionStep(values.count, resource: resource) {
                if value.isNaN { return values }
                values.append(value)
            }
        }
        return values
    }

    /// Whether `value` is within the best ⌊count / reductionFactor⌋ (at least 1) of `competing` (which holds it).
    func isPromotable(_ value: Double, competing: [Double], direction: StudyDirection) -> Bool {
        let index = max(competing.count / reductionFactor - 1, 0)
        let sorted = competing.sorted()
        return direction == .maximize ? value >= sorted[sorted.count - 1 - index] : value <= sorted[index]
    }
}
