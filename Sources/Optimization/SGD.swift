/// Stochastic gradient descent with optional (Nesterov) momentum and coupled weight decay, as
/// `torch.optim.SGD` (single-tensor path, `maximize=False`).
///
/// Per element of a group with weight decay `wd`, all in f32 with the scalars rounded to f32:
/// `g += wd·p`; with momentum, `buf = g` on the range's first step, else
/// `buf = momentum·buf + (1 − dampening)·g`, and `g = g + momentum·buf` (Nesterov) or `g = buf`;
/// finally `p −= lr·g`. Each `x + a·y` is one fused multiply-add, as torch's vectorized
/// `add(…, alpha=)` kernel computes it, so results equal torch's bit for bit.
public final class SGD: Optimizer {
    /// Momentum factor (0 disables the momentum buffer).
    public let momentum: Double
    /// Dampening of the gradient in the momentum update.
    public let dampening: Double
    /// Nesterov momentum.
    public let nesterov: Bool

    private let store: StateStore

    /// Validates the settings as torch does.
    /// - Throws: `invalidHyperparameter` for negative momentum or dampening, or Nesterov without
    ///   momentum or with dampening.
    public init(momentum: Double = 0, dampening: Double = 0, nesterov: Bool = false) throws(OptimizationError) {
        guard momentum >= 0, momentum.isFinite else {
            throw .invalidHyperparameter(name: "momentum", value: momentum, expected: "a finite value >= 0")
        }
        guard dampening >= 0, dampening.isFinite else {
            throw .invalidHyperparameter(name: "dampening", value: dampening, expected: "a finite value >= 0")
        }
        if nesterov && (momentum <= 0 || dampening != 0) {
            throw .invalidHyperparameter(name: "dampening", value: dampening,
                                         expected: "0 with momentum > 0 when Nesterov momentum is on")
        }
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        store = StateStore(optimizerName: "SGD", bufferNames: momentum != 0 ? ["momentum_buffer"] : [])
    }

    public func step(parameters: UnsafeMutableBufferPointer<Float>, gradients: UnsafeBufferPointer<Float>,
                     groups: [ParameterGroup], learningRate: Float) {
        let momentum = Float(self.momentum)
        let gradientWeight = Float(1 - dampening)
        for part in store.groupSteps(parameters: parameters, gradients: gradients, groups: groups) {
            let group = part.group, slot = part.slot
            let negativeLearningRate = Float(-group.learningRate(learningRate))
            let isFirstStep = slot.step == 1
            let decay = Float(group.weightDecay)
            let hasDecay = group.weightDecay != 0
            // p, g, buf: (count) views of this group.
            let p = part.parameters, g = part.gradients
            let buf = slot.buffers.first?.baseAddress
            for i in 0..<group.count {
                var gradient = g[i]
                // Skipped, not multiplied by 0, without decay: 0·inf would turn into NaN.
                if hasDecay { gradient = gradient.addingProduct(decay, p[i]) }
                if let buf {
                    buf[i] = isFirstStep ? gradient : (buf[i] * momentum).addingProduct(gradientWeight, gradient)
                    gradient = nesterov ? gradient.addingProduct(momentum, buf[i]) : buf[i]
                }
                p[i] = p[i].addingProduct(negativeLearningRate, gradient)
            }
        }
    }

    public func exportState() -> OptimizerState { store.export() }

    public func restoreState(_ state: OptimizerState) throws(OptimizationError) { try store.restore(state) }
}
