/// One parameter group's share of an optimizer step: its state slot, with this step already
/// counted, and views of its parameters and gradients (`group.count` elements each).
struct GroupStep {
    let group: ParameterGroup
    let slot: StateStore.Slot
    /// Updated in place.
    let parameters: UnsafeMutablePointer<Float>
    let gradients: UnsafePointer<Float>
}

extension StateStore {
    /// The non-empty groups of one `Optimizer.step`, each with its slot (created on first use),
    /// whose step count is advanced.
    ///
    /// - Precondition: both buffers have the same count; groups are disjoint and inside them.
    func groupSteps(parameters: UnsafeMutableBufferPointer<Float>, gradients: UnsafeBufferPointer<Float>,
                    groups: [ParameterGroup]) -> [GroupStep] {
        precondition(parameters.count == gradients.count,
                     "parameters (\(parameters.count)) and gradients (\(gradients.count)) differ in size")
        groups.preconditionDisjoint(within: parameters.count)
        return groups.filter { $0.count > 0 }.map { group in
            let slot = slot(for: group.range)
            slot.step += 1
            return GroupStep(group: group, slot: slot, parameters: parameters.baseAddress! + group.offset,
                             gradients: gradients.baseAddress! + group.offset)
        }
    }
}

/// torch's vectorized `lerp(start, end, weight)`, as in `exp_avg.lerp_(grad, 1 − β1)`:
/// `start + w·(end − start)` when |w| < 0.5, else `end + (w − 1)·(end − start)`, each one fused
/// multiply-add, so averages equal torch's bit for bit.
struct TorchLerp {
    let weightIsSmall: Bool
    let coefficient: Float

    init(weight: Float) {
        weightIsSmall = abs(weight) < 0.5
        coefficient = weightIsSmall ? weight : weight - 1
    }

    @inline(__always)
    func interpolate(from start: Float, to end: Float) -> Float {
        (weightIsSmall ? start : end).addingProduct(coefficient, end - start)
    }
}
