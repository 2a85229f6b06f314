import Optimization
import ViT

extension TrainableSet {
    /// The optimizer groups of the trainable tensors: contiguous runs of trainable views with the
    /// same weight decay, in layout order.
    ///
    /// By default every trainable tensor decays by `weightDecay` (the reference's single group).
    /// Separate decays follow torchvision's `set_weight_decay`, which the reference calls: norm
    /// parameters (`normWeightDecay`), biases (`biasWeightDecay`) and the class token and position
    /// embedding (`embeddingWeightDecay`). The classifier head's groups learn at
    /// `headLearningRateScale` times the rate (`--head-lr-multiplier`).
    public func parameterGroups(layout: ParameterLayout, weightDecay: Double, normWeightDecay: Double? = nil,
                                biasWeightDecay: Double? = nil, embeddingWeightDecay: Double? = nil,
                                headLearningRateScale: Double = 1) -> [ParameterGroup] {
        var groups: [ParameterGroup] = []
        for (index, view) in layout.views.enumerated() where isTrainable[index] && view.count > 0 {
            var decay = weightDecay
            if view.name.contains("norm"), let d = normWeightDecay {
                decay = d
            } else if view.name.hasSuffix(".bias"), let d = biasWeightDecay {
                decay = d
            } else if index == layout.classToken || index == layout.positionEmbedding, let d = embeddingWeightDecay {
                decay = d
            }
            let scale = index == layout.headWeight || index == layout.headBias ? headLearningRateScale : 1
            if let last = groups.last, last.range.upperBound == view.offset, last.weightDecay == decay,
               last.learningRateScale == scale {
                groups[groups.count - 1].count += view.count
            } else {
                groups.append(ParameterGroup(offset: view.offset, count: view.count, weightDecay: decay, learningRateScale: scale))
            }
        }
        return groups
    }
}
