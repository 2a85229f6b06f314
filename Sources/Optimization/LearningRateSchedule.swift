#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The learning rate for each optimizer step: an optional linear or constant warmup followed by a
/// constant, step, cosine or exponential decay, reproducing torch's schedulers value for value.
///
/// Correspondence (`W` warmup steps, `N` total steps, `base` the optimizer's lr):
/// - warmup `.linear`: `LinearLR(start_factor=startFactor, end_factor=1.0, total_iters=W)`;
///   `.constant`: `ConstantLR(factor=startFactor, total_iters=W)`. Either is chained to the decay
///   scheduler by `SequentialLR(schedulers=[warmup, decay], milestones=[W])`; without warmup the
///   decay scheduler is used alone.
/// - `.constant`: `ConstantLR(factor=1.0, total_iters=0)`.
/// - `.step(size:gamma:)`: `StepLR(step_size=size, gamma=gamma)`, counting from the end of warmup.
/// - `.cosine(minimum:)`: `CosineAnnealingLR(T_max=N − W, eta_min=minimum)`, reaching `minimum`
///   at step N.
/// - `.exponential(gamma:)`: `ExponentialLR(gamma=gamma)`, counting from the end of warmup.
///
/// `learningRate(at: k)` equals `scheduler.get_last_lr()[0]` after k calls of `scheduler.step()`,
/// i.e. the rate for optimizer step k (counted from 0). Torch updates the rate recursively from the
/// previous one (and takes the closed form at the milestone), so the values are computed here the
/// same way, once, in f64 with the same operation order: they match to the last bit.
public struct LearningRateSchedule: Sendable, Equatable {
    /// The shape after warmup.
    public enum Decay: Sendable, Equatable {
        case constant
        /// Multiply by `gamma` every `size` steps.
        case step(size: Int, gamma: Double)
        /// Half-cosine from the base rate down to `minimum` at the last step.
        case cosine(minimum: Double)
        /// Multiply by `gamma` every step.
        case exponential(gamma: Double)
    }

    /// The first `steps` steps before the decay: a linear ramp from `startFactor`·base, or
    /// `startFactor`·base held constant.
    public struct Warmup: Sendable, Equatable {
        /// The warmup's shape.
        public enum Kind: String, Sendable, Equatable, CaseIterable {
            /// `LinearLR`: from `startFactor`·base at step 0 up towards base at step `steps`.
            case linear
            /// `ConstantLR`: `startFactor`·base for every warmup step, base at step `steps`.
            case constant
        }

        /// Number of warmup steps; 0 means no warmup.
        public var steps: Int
        /// Factor of the base rate at step 0 (for `.constant` at every warmup step), in (0, 1].
        public var startFactor: Double
        /// Linear ramp or constant factor.
        public var kind: Kind

        /// A warmup; see the properties.
        public init(steps: Int, startFactor: Double, kind: Kind = .linear) {
            self.steps = steps
            self.startFactor = startFactor
            self.kind = kind
        }
    }

    /// The optimizer's learning rate before scheduling.
    public let baseLearningRate: Double
    public let decay: Decay
    public let warmup: Warmup?
    /// Number of optimizer steps the schedule covers; rates exist for steps 0 ... totalSteps.
    public let totalSteps: Int
    /// Rate for each step 0 ... totalSteps.
    private let rates: [Double]

    /// Validates the settings and computes every step's rate.
    /// - Complexity: O(totalSteps) time and memory (one f64 per step), once; lookups are O(1).
    /// - Throws: `invalidHyperparameter` for a non-positive base rate, step size or gamma, a warmup
    ///   start factor outside (0, 1], negative counts, or a cosine without steps after warmup.
    public init(baseLearningRate: Double, decay: Decay, warmup: Warmup? = nil, totalSteps: Int) throws(OptimizationError) {
        guard baseLearningRate > 0, baseLearningRate.isFinite else {
            throw .invalidHyperparameter(name: "learning rate", value: baseLearningRate, expected: "a finite value > 0")
        }
        guard totalSteps >= 0 else {
            throw .invalidHyperparameter(name: "total steps", value: Double(totalSteps), expected: "a count >= 0")
        }
        let warmupSteps = warmup?.steps ?? 0
        if let warmup {
            guard warmup.steps >= 0 else {
                throw .invalidHyperparameter(name: "warmup steps", value: Double(warmup.steps), expected: "a count >= 0")
            }
            guard warmup.startFactor > 0, warmup.startFactor <= 1 else {
                throw .invalidHyperparameter(name: "warmup start factor", value: warmup.startFactor, expected: "a value in (0, 1]")
            }
        }
        switch decay {
        case .constant:
            break
        case let .step(size, gamma):
            guard size > 0 else {
                throw .invalidHyperparameter(name: "step size", value: Double(size), expected: "a count > 0")
            }
            guard gamma > 0, gamma.isFinite else {
                throw .invalidHyperparameter(name: "step gamma", value: gamma, expected: "a finite value > 0")
            }
        case let .exponential(gamma):
            guard gamma > 0, gamma.isFinite else {
                throw .invalidHyperparameter(name: "exponential gamma", value: gamma, expected: "a finite value > 0")
            }
        case let .cosine(minimum):
            guard minimum >= 0, minimum.isFinite else {
                throw .invalidHyperparameter(name: "minimum learning rate", value: minimum, expected: "a finite value >= 0")
            }
            guard totalSteps > warmupSteps else {
                throw .invalidHyperparameter(name: "total steps", value: Double(totalSteps),
                                             expected: "more than the \(warmupSteps) warmup steps for a cosine schedule")
            }
        }
        self.baseLearningRate = baseLearningRate
        self.decay = decay
        self.warmup = warmupSteps > 0 ? warmup : nil
        self.totalSteps = totalSteps
        self.rates = Self.torchRates(base: baseLearningRate, decay: decay, warmup: self.warmup, totalSteps: totalSteps)
    }

    /// The learning rate for optimizer step `step` (0 for the first step).
    /// - Precondition: `0 <= step <= totalSteps`.
    public func learningRate(at step: Int) -> Double {
        precondition(step >= 0 && step <= totalSteps, "learning-rate step \(step) outside 0...\(totalSteps)")
        return rates[step]
    }

    // MARK: - torch's recursion

    /// Replays torch's scheduler steps: each value is derived from the previous one exactly as
    /// the `get_lr` (recursive) or `_get_closed_form_lr` (at the milestone) methods do.
    private static func torchRates(base: Double, decay: Decay, warmup: Warmup?, totalSteps: Int) -> [Double] {
        var rates: [Double] = []
        rates.reserveCapacity(totalSteps + 1)
        let warmupSteps = warmup?.steps ?? 0
        var lr = base
        for k in 0...totalSteps {
            if let warmup, k < warmupSteps {
                let start = warmup.startFactor
                if k == 0 {
                    // LinearLR.get_lr and ConstantLR.get_lr alike: epoch 0 scales the base.
                    lr = lr * start
                } else if warmup.kind == .linear {
                    // LinearLR.get_lr with end_factor 1: later epochs scale the previous rate.
                    lr = lr * (1.0 + (1.0 - start) / (Double(warmupSteps) * start + Double(k - 1) * (1.0 - start)))
                }
                // ConstantLR.get_lr keeps the rate until total_iters = W, where SequentialLR hands over.
            } else {
                // The decay scheduler's own epoch; at the milestone SequentialLR evaluates the closed form at 0.
                let epoch = k - warmupSteps
                let isMilestone = warmupSteps > 0 && epoch == 0
                lr = decayedRate(previous: lr, epoch: epoch, isMilestone: isMilestone, base: base,
                                 decay: decay, decaySteps: totalSteps - warmupSteps)
            }
            rates.append(lr)
        }
        return rates
    }

    /// One step of the decay scheduler (`epoch` counted from its own start).
    private static func decayedRate(previous lr: Double, epoch: Int, isMilestone: Bool, base: Double,
                                    decay: Decay, decaySteps: Int) -> Double {
        switch decay {
        case .constant:
            // ConstantLR(factor=1, total_iters=0): the closed form is base·1, each step keeps the rate.
            return isMilestone ? base : lr
        case let .step(size, gamma):
            if isMilestone { return base * pow(gamma, Double(epoch / size)) }
            if epoch == 0 || epoch % size != 0 { return lr }
            return lr * gamma
        case let .exponential(gamma):
            // Closed form base·γ^epoch at the milestone (epoch 0: exactly base), else the previous rate·γ.
            if isMilestone { return base * pow(gamma, Double(epoch)) }
            return epoch == 0 ? lr : lr * gamma
        case let .cosine(minimum):
            let tMax = Double(decaySteps)
            if isMilestone {
                return minimum + (base - minimum) * (1 + cos(Double.pi * Double(epoch) / tMax)) / 2
            }
            if epoch == 0 { return lr }
            if (epoch - 1 - decaySteps) % (2 * decaySteps) == 0 {
                return lr + (base - minimum) * (1 - cos(Double.pi / tMax)) / 2
            }
            return (1 + cos(Double.pi * Double(epoch) / tMax)) / (1 + cos(Double.pi * Double(epoch - 1) / tMax))
                * (lr - minimum) + minimum
        }
    }
}
