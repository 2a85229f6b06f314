import Foundation
import Randomness

/// Optuna's `RandomSampler`: every parameter uniform in its internal space (log params log-uniform;
/// ints and stepped floats uniform on the range widened by half a step, then rounded, so each grid point
/// is equally likely; categoricals uniform).
public struct RandomSampler: Sampler {
    public var seed: UInt64

    public init(seed: UInt64) { self.seed = seed }

    public func sample(space: [(name: String, distribution: Distribution)], trials: [Trial], directions: [StudyDirection], trialNumber: Int) -> [Double] {
        var generator = SeededRandom(seed: seed, UInt64(truncatingIfNeeded: trialNumber), 0x5241_4E44_4F4D_3031)  // "RANDOM01"
        return space.map { RandomSampler.draw($0.distribution, using: &generator) }
    }

    /// One uniform draw of `distribution`, in internal representation.
    public static func draw(_ distribution: Distribution, using generator: inout SeededRandom) -> Double {
        switch distribution {
        case let .int(low, high, step, log):
            let (lowValue, highValue, stepValue) = (Double(low), Double(high), Double(step))
            if log {
                let value = exp(generator.uniform(Foundation.log(lowValue - 0.5 * stepValue), Foundation.log(highValue + 0.5 * stepValue)))
                return min(max(value.rounded(.toNearestOrEven), lowValue), highValue)
            }
            let drawn = generator.uniform(lowValue - 0.5 * stepValue, highValue + 0.5 * stepValue)
            let index = ((drawn - lowValue) / stepValue + 0.5).rounded(.down)
            return min(max(index * stepValue + lowValue, lowValue), highValue)
        case let .float(low, high, step, log):
            if log { return min(max(exp(generator.uniform(Foundation.log(low), Foundation.log(high))), low), high) }
            if let step {
                let drawn = generator.uniform(low - 0.5 * step, high + 0.5 * step)
                return min(max(((drawn - low) / step).rounded(.toNearestOrEven) * step + low, low), high)
            }
            return generator.uniform(low, high)
        case let .categorical(choices):
            return Double(generator.below(choices.count))
        }
    }
}
