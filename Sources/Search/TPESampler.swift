import Foundation
import JSON
import Randomness

/// Optuna 5.0's `TPESampler` with its defaults: random for the first `startupTrials` COMPLETE or PRUNED
/// trials; then the finished trials split into good ("below", l(x)) and bad ("above", g(x)), a Parzen
/// estimator each, `candidateCount` candidates drawn from l(x), and the one maximising log l − log g.
/// Multivariate (one joint estimator over the parameters every finished trial shares) for one objective,
/// univariate for several; RUNNING trials count as bad (the constant liar), so parallel workers spread out.
///
/// Differences from Optuna: the random streams (SplitMix64 per trial number, not numpy's); constraints are
/// not supported; a parameter of `space` outside the shared joint space is sampled univariately, as Optuna
/// does, but the joint space is restricted to `space` (Optuna also samples shared parameters the trial never asks for).
public struct TPESampler: Sampler {
    public var seed: UInt64
    public var startupTrials: Int
    public var candidateCount: Int
    /// nil: multivariate for one objective, univariate for several (Optuna 5's default).
    public var multivariate: Bool?
    public var constantLiar: Bool

    public init(seed: UInt64, startupTrials: Int = 10, candidateCount: Int = 24, multivariate: Bool? = nil, constantLiar: Bool = true) {
        self.seed = seed
        self.startupTrials = startupTrials
        self.candidateCount = candidateCount
        self.multivariate = multivariate
        self.constantLiar = constantLiar
    }

    public func sample(space: [(name: String, distribution: Distribution)], trials: [Trial], directions: [StudyDirection], trialNumber: Int) -> [Double] {
        let finished = trials.filter { $0.state == .complete || $0.state == .pruned }
        if finished.count < startupTrials {
            return RandomSampler(seed: seed).sample(space: space, trials: trials, directions: directions, trialNumber: trialNumber)
        }
        var generator = SeededRandom(seed: seed, UInt64(truncatingIfNeeded: trialNumber), 0x5450_4553_414D_504C)  // "TPESAMPL"
        let isMultivariate = multivariate ?? (directions.count <= 1)
        let observed = trials.filter { trial in
            trial.number != trialNumber && (trial.state == .complete || trial.state == .pruned || (constantLiar && trial.state == .running))
        }.sorted { $0.number < $1.number }
        let finishedCount = observed.filter { $0.state != .running }.count
        let groups = TPESampler.split(observed, nBelow: TPESampler.gamma(finishedCount, objectives: directions.count), directions: directions)
        let context = SamplingContext(space: space, groups: groups, multiObjective: directions.count > 1, multivariate: isMultivariate)
        var values = [Double?](repeating: nil, count: space.count)
        if isMultivariate {
            let joint = TPESampler.jointSpace(space, finished: finished)
            if !joint.isEmpty {
                for (index, value) in zip(joint, sampleJointly(joint, context, &generator)) { values[index] = value }
            }
        }
        for index in space.indices where values[index] == nil { values[index] = sampleJointly([index], context, &generator)[0] }
        return values.map { $0! }
    }

    /// What one ask shares between its joint and univariate draws.
    struct SamplingContext {
        var space: [(name: String, distribution: Distribution)]
        var groups: (below: [Trial], above: [Trial])
        var multiObjective: Bool
        var multivariate: Bool
    }

    /// The argmax of log l − log g over candidates drawn from l, for the parameters `indices` of the space.
    func sampleJointly(_ indices: [Int], _ context: SamplingContext, _ generator: inout SeededRandom) -> [Double] {
        let names = indices.map { context.space[$0].name }
        let distributions = indices.map { context.space[$0].distribution }
        let rows = { (trials: [Trial]) -> [[Double]] in
            trials.compactMap { trial in
                let params = TPESampler.observedParams(trial, space: context.space, multivariate: context.multivariate)
                let row = names.compactMap { params[$0] }
                return row.count == names.count ? row : nil
            }
        }
        let belowRows = rows(context.groups.below)
        // Multi-objective: l(x) weighs its observations equally (Optuna's predetermined weights).
        let below = ParzenEstimator(observations: belowRows, distributions: distributions,
                                    predeterminedWeights: context.multiObjective ? [Double](repeating: 1, count: belowRows.count) : nil)
        let above = ParzenEstimator(observations: rows(context.groups.above), distributions: distributions)
        let candidates = below.sample(count: max(candidateCount, 1), using: &generator)
        var best = candidates[0], bestScore = -Double.infinity
        for candidate in candidates {
            let score = below.logDensity(candidate) - above.logDensity(candidate)
            if score > bestScore { (best, bestScore) = (candidate, score) }  // the first maximum, as numpy's argmax
        }
        return best
    }
}
