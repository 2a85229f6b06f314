import Optimization
import ViT

extension TrainableSet {
    /// The optimizer groups of the trainable tensors: contiguous runs of trainable views with the
    /// same weight decay, in layout order.
    ///
    /// By default every trainable tensor decays by `weightDecay` (the reference's single group).
    /// Separate decays follow torchvision's `set_weight_decay`, which the reference calls: norm
    /// parameters (`normWeightDecay`), biases (`biasWeightDecay`) and the class token and position
    /// embedding (`embeddingWeightDecay`).
    public func parameterGroups(layout: ParameterLayout, weightDecay: Double, normWeightDecay: Double? = nil,
                                biasWeightDecay: Double? = nil, embeddingWeightDecay: Double? = nil) -> [ParameterGroup] {
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
            if let last = groups.last, last.range.upperBound == view.offset, last.weightDecay == decay {
                groups[groups.count - 1].count += view.count
            } else {
                groups.append(ParameterGroup(offset: view.offset, count: view.count, weightDecay: decay))
            }
        }
        return groups
    }
}
