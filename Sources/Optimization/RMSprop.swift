/// RMSprop with optional momentum, centering and coupled weight decay, as `torch.optim.RMSprop`
/// (single-tensor path, foreach off, `maximize=False`).
///
/// Per element of a group with weight decay `wd`, all in f32 with the scalars rounded to f32:
/// `g += wd·p`; `v = α·v + (1 − α)·g²`; centered: `ḡ = lerp(ḡ, g, 1 − α)` and
/// `d = √(v − ḡ²) + eps`, else `d = √v + eps`; with momentum `buf = momentum·buf + g / d` and
/// `p −= lr·buf`, else `p += (−lr·g) / d`. Every buffer starts at zero (unlike SGD, the momentum
/// buffer is not seeded with the first gradient). `g += wd·p`, the `v` update, `v − ḡ²`, the lerp
/// and `p −= lr·buf` are one fused multiply-add each, as torch's vectorized CPU kernels compute
/// them; the divisions are not fused, as in torch.
///
/// FairTune's reference uses `RMSprop(lr, momentum=0.9, eps=0.0316, alpha=0.9, weight_decay=wd)`
/// (torchvision's recipe, eps and alpha as in TensorFlow's RMSprop).
public final class RMSprop: Optimizer {
    /// Decay of the running average of the squared gradient (torch's `alpha`).
    public let alpha: Double
    /// Added to the root of the average for numerical stability (outside the root, as torch).
    public let epsilon: Double
    /// Momentum factor (0: no momentum buffer).
    public let momentum: Double
    /// Divide by the estimated variance `v − ḡ²` instead of the raw second moment `v`.
    public let centered: Bool

    private let store: StateStore
    /// Positions of the optional buffers in a slot's buffers (nil: not kept).
    private let momentumIndex: Int?, gradientAverageIndex: Int?

    /// Validates the settings as torch does.
    /// - Throws: `invalidHyperparameter` for a negative or non-finite alpha, epsilon or momentum.
    public init(alpha: Double = 0.99, epsilon: Double = 1e-8, momentum: Double = 0, centered: Bool = false)
        throws(OptimizationError) {
        for (name, value) in [("alpha", alpha), ("epsilon", epsilon), ("momentum", momentum)]
        where !(value >= 0 && value.isFinite) {
            throw .invalidHyperparameter(name: name, value: value, expected: "a finite value >= 0")
        }
        self.alpha = alpha
        self.epsilon = epsilon
        self.momentum = momentum
        self.centered = centered
        // torch's state names; the optional buffers exist only when their feature is on.
        var names = ["square_avg"]
        if momentum > 0 { names.append("momentum_buffer") }
        if centered { names.append("grad_avg") }
        momentumIndex = names.firstIndex(of: "momentum_buffer")
        gradientAverageIndex = names.firstIndex(of: "grad_avg")
        store = StateStore(optimizerName: "RMSprop", bufferNames: names)
    }

    public func step(parameters: UnsafeMutableBufferPointer<Float>, gradients: UnsafeBufferPointer<Float>,
                     groups: [ParameterGroup], learningRate: Float) {
        let squareDecay = Float(alpha)
        let squareWeight = Float(1 - alpha)
        // grad_avg.lerp_(grad, w = 1 − α)
        let lerp = TorchLerp(weight: squareWeight)
        let epsilon = Float(self.epsilon)
        let momentum = Float(self.momentum)
        for part in store.groupSteps(parameters: parameters, gradients: gradients, groups: groups) {
            let group = part.group, slot = part.slot
            let negativeLearningRate = Float(-group.learningRate(learningRate))
            let decay = Float(group.weightDecay)
            let hasDecay = group.weightDecay != 0
            // p, g, v (square_avg), buf (momentum_buffer), a (grad_avg): (count) views of this group.
            let p = part.parameters, g = part.gradients
            let v = slot.buffers[0].baseAddress!
            let buf = momentumIndex.map { slot.buffers[$0].baseAddress! }
            let a = gradientAverageIndex.map { slot.buffers[$0].baseAddress! }
            for i in 0..<group.count {
                var gradient = g[i]
                // Skipped, not multiplied by 0, without decay: 0·inf would turn into NaN.
                if hasDecay { gradient = gradient.addingProduct(decay, p[i]) }
                // square_avg.mul_(α).addcmul_(g, g, value=1 − α)
                let square = (v[i] * squareDecay).addingProduct(squareWeight * gradient, gradient)
                v[i] = square
                let root: Float
                if let a {
                    let oldAverage = a[i]
                    let average = lerp.interpolate(from: oldAverage, to: gradient)
                    a[i] = average
                    // square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
                    root = square.addingProduct(-average, average).squareRoot()
                } else {
                    root = square.squareRoot()
                }
                let denominator = root + epsilon
                if let buf {
                    // buf.mul_(momentum).addcdiv_(g, d); p.add_(buf, alpha=−lr)
                    let velocity = buf[i] * momentum + gradient / denominator
                    buf[i] = velocity
                    p[i] = p[i].addingProduct(negativeLearningRate, velocity)
                } else {
                    // p.addcdiv_(g, d, value=−lr)
                    p[i] = p[i] + negativeLearningRate * gradient / denominator
                }
            }
        }
    }

    public func exportState() -> OptimizerState { store.export() }

    public func restoreState(_ state: OptimizerState) throws(OptimizationError) { try store.restore(state) }
}
