#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Adam with decoupled weight decay, as `torch.optim.AdamW` with `amsgrad=False`,
/// `maximize=False`, foreach and fused off (the single-tensor path torch uses on CPU).
///
/// Per group with weight decay `wd`, at the range's step `t` (counted from 1), with scalars
/// computed in f64 as torch does in Python and rounded to f32 where they meet the tensors:
/// `p *= 1 − lr·wd`; `m = lerp(m, g, 1 − β1)`; `v = β2·v + (1 − β2)·g²`;
/// `p += −(lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps)`. The lerp and the `v` update use one
/// fused multiply-add each, as torch's vectorized CPU kernels do; results match torch's to the
/// last bit on almost every element and within an ulp or two on the rest.
public final class AdamW: Optimizer {
    /// Coefficients of the running averages of the gradient and its square.
    public let beta1: Double, beta2: Double
    /// Added to the denominator for numerical stability.
    public let epsilon: Double

    private let store = StateStore(optimizerName: "AdamW", bufferNames: ["exp_avg", "exp_avg_sq"])

    /// Validates the settings as torch does.
    /// - Throws: `invalidHyperparameter` unless `0 <= beta < 1` and `epsilon >= 0`.
    public init(beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8) throws(OptimizationError) {
        for (name, beta) in [("beta1", beta1), ("beta2", beta2)] where !(beta >= 0 && beta < 1) {
            throw .invalidHyperparameter(name: name, value: beta, expected: "a value in [0, 1)")
        }
        guard epsilon >= 0, epsilon.isFinite else {
            throw .invalidHyperparameter(name: "epsilon", value: epsilon, expected: "a finite value >= 0")
        }
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    public func step(parameters: UnsafeMutableBufferPointer<Float>, gradients: UnsafeBufferPointer<Float>,
                     groups: [ParameterGroup], learningRate: Float) {
        // exp_avg.lerp_(grad, w = 1 − β1)
        let lerp = TorchLerp(weight: Float(1 - beta1))
        let squareDecay = Float(beta2)
        let squareWeight = Float(1 - beta2)
        let epsilon = Float(self.epsilon)
        for part in store.groupSteps(parameters: parameters, gradients: gradients, groups: groups) {
            let group = part.group, slot = part.slot
            let lr = group.learningRate(learningRate)
            let t = Double(slot.step)
            // Multiplying by exactly 1 when there is no weight decay changes nothing (torch skips it).
            let decayFactor = Float(1 - lr * group.weightDecay)
            let negativeStepSize = Float(-(lr / (1 - pow(beta1, t))))
            let biasCorrection2Root = Float(pow(1 - pow(beta2, t), 0.5))
            // p, g, m (exp_avg), v (exp_avg_sq): (count) views of this group.
            let p = part.parameters, g = part.gradients
            let m = slot.buffers[0].baseAddress!
            let v = slot.buffers[1].baseAddress!
            for i in 0..<group.count {
                let gradient = g[i]
                let oldAverage = m[i]
                let average = lerp.interpolate(from: oldAverage, to: gradient)
                // exp_avg_sq.mul_(β2).addcmul_(g, g, value=1 − β2)
                let square = (v[i] * squareDecay).addingProduct(squareWeight * gradient, gradient)
                let denominator = square.squareRoot() / biasCorrection2Root + epsilon
                p[i] = p[i] * decayFactor + negativeStepSize * average / denominator
                m[i] = average
                v[i] = square
            }
        }
    }

    public func exportState() -> OptimizerState { store.export() }

    public func restoreState(_ state: OptimizerState) throws(OptimizationError) { try store.restore(state) }
}
