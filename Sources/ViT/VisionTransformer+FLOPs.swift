extension VisionTransformer {
    /// Matrix-product FLOPs per image of a forward (2 per multiply-add; element-wise work not counted).
    public var forwardFLOPsPerImage: Double {
        let t = Double(config.tokens), c = Double(config.width), r = Double(layout.loraRank)
        let lora = layout.loraRank > 0 ? Double(config.depth) * (2 * t * c * 2 * r + 2 * 2 * t * r * c) : 0
        return config.forwardFLOPsPerImage + lora
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
            let norm2 = tr.contains(p.norm2Weight) || tr.contains(p.norm2Bias)
            let norm1 = tr.contains(p.norm1Weight) || tr.contains(p.norm1Bias)
            let needsLN2Out = norm2 || plan.needsMidGradient
            let needsHidden = needsLN2Out || tr.contains(p.fc1Weight) || tr.contains(p.fc1Bias)
            if tr.contains(p.fc2Weight) { flops += 2 * t * c * m }
            if needsHidden { flops += 2 * t * c * m }
            if tr.contains(p.fc1Weight) { flops += 2 * t * c * m }
            if needsLN2Out { flops += 2 * t * c * m }
            guard plan.needsMidGradient else { continue }
            if tr.contains(p.projWeight) { flops += 2 * t * c * c }
            guard plan.runsAttentionBackward else { continue }
            flops += 2 * t * c * c + 8 * t * t * c
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
