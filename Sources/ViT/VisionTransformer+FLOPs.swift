extension VisionTransformer {
    /// Matrix-product FLOPs per image of a forward as it runs (2 per multiply-add; element-wise
    /// work not counted): timm's count, less the last block's rows past qkv other than the class
    /// token's, which are never computed (`lastBlockForward`).
    public var forwardFLOPsPerImage: Double {
        let t = Double(config.tokens), c = Double(config.width), m = Double(config.mlpWidth), r = Double(layout.loraRank)
        let lora = layout.loraRank > 0 ? Double(config.depth) * (2 * t * c * 2 * r + 2 * 2 * t * r * c) : 0
        let skipped = (t - 1) * (2 * 2 * t * c + 2 * c * c + 2 * 2 * c * m)
        return config.forwardFLOPsPerImage + lora - skipped
    }

    /// Matrix-product FLOPs per image of a training step under the current trainable set: the
    /// forward plus exactly the backward products that run (frozen weights and layers below the
    /// lowest trainable one cost nothing).
    public var trainingStepFLOPsPerImage: Double {
        let t = Double(config.tokens), c = Double(config.width), m = Double(config.mlpWidth)
        let r = Double(layout.loraRank), k = Double(config.classes)
        let tr = trainable
        var flops = forwardFLOPsPerImage
        let plans = BlockPlan.plans(layout: layout, trainable: tr)
        let anyBelowHead = tr.trainableCount > layout.views[layout.headWeight].count + config.classes
        flops += 2 * c * k + (anyBelowHead ? 2 * c * k : 0)
        for (i, plan) in plans.enumerated() where plan.runsBackward {
            let p = layout.blocks[i]
            // Rows past qkv: the last block's backward runs there on the class token only.
            let rows = i == config.depth - 1 ? 1 : t
            let norm2 = tr.contains(p.norm2Weight) || tr.contains(p.norm2Bias)
            let norm1 = tr.contains(p.norm1Weight) || tr.contains(p.norm1Bias)
            let needsLN2Out = norm2 || plan.needsMidGradient
            let needsHidden = needsLN2Out || tr.contains(p.fc1Weight) || tr.contains(p.fc1Bias)
            if tr.contains(p.fc2Weight) { flops += 2 * rows * c * m }
            if needsHidden { flops += 2 * rows * c * m }
            if tr.contains(p.fc1Weight) { flops += 2 * rows * c * m }
            if needsLN2Out { flops += 2 * rows * c * m }
            guard plan.needsMidGradient else { continue }
            if tr.contains(p.projWeight) { flops += 2 * rows * c * c }
            guard plan.runsAttentionBackward else { continue }
            flops += 2 * rows * c * c + 8 * rows * t * c
            if tr.contains(p.qkvWeight) { flops += 6 * t * c * c }
            if norm1 || plan.needsInputGradient { flops += 6 * t * c * c }
            if p.loraA != nil {
                if tr.contains(p.loraB) { flops += 2 * 2 * c * r * t }
                flops += 2 * 2 * t * c * r + (tr.contains(p.loraA) ? 2 * 2 * r * c * t : 0)
                if norm1 || plan.needsInputGradient { flops += 2 * t * 2 * r * c }
            }
        }
        if tr.contains(layout.patchWeight) {
            flops += 2 * Double(config.gridSize * config.gridSize) * Double(config.patchValues) * c
        }
        return flops
    }
}

extension VisionTransformer {
    /// An upper bound of the bytes a training step on `batch` images holds: weights, gradients and
    /// two optimizer moments for every parameter, and the activations with every block kept (as
    /// when everything trains) beside the shared scratch. Checked before anything is allocated, so
    /// an impossible setting (`--image-size 4096`) is refused with the estimate instead of failing
    /// an allocation.
    public static func trainingBytesUpperBound(layout: ParameterLayout, batch: Int) -> Double {
        let config = layout.config
        let b = Double(batch), t = Double(config.tokens), c = Double(config.width), m = Double(config.mlpWidth)
        let n = b * t, r = Double(layout.loraRank)
        let attention = b * Double(config.heads) * t * t
        let block = n * c * 5 + n * 4 + n * 3 * c + attention + n * m + n * 2 * r
        let scratch = block + 2 * n * c + n * m + b * Double(config.gridSize * config.gridSize) * Double(config.patchValues + config.width)
        let gradients = n * c * 2 + n * 3 * c + n * m + attention + n * 2 * r
        let parameters = Double(layout.count) * 4
        return 4 * (block * Double(config.depth) + scratch + gradients + parameters)
    }
}
