/// What training needs from an optimizer: a step over flat buffers and checkpointable state.
///
/// Speed note: the element loops use fused multiply-adds (to equal torch's CPU kernels) and
/// square roots. On the default x86-64 baseline each fused multiply-add is a libm call and the
/// square root keeps an errno fallback, so the loops stay scalar; building with
/// `-Xswiftc -target-cpu -Xswiftc haswell -Xcc -fno-math-errno` lets them vectorize, with
/// identical results.
public protocol Optimizer: AnyObject {
    /// Updates `parameters` in place inside the groups' ranges from `gradients`, with torch's
    /// semantics for this optimizer; elements outside every group are not touched.
    ///
    /// - Precondition: both buffers have the same count; groups are disjoint and inside them.
    func step(parameters: UnsafeMutableBufferPointer<Float>, gradients: UnsafeBufferPointer<Float>,
              groups: [ParameterGroup], learningRate: Float)

    /// A copy of the complete state, for a checkpoint.
    func exportState() -> OptimizerState

    /// Replaces the state with one from `exportState` of an optimizer of the same kind.
    /// - Throws: `OptimizationError.stateMismatch` when the state does not fit.
    func restoreState(_ state: OptimizerState) throws(OptimizationError)
}
