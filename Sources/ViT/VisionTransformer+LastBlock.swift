import Tensor

/// The last block on the class token alone. The head reads only the class token of the last
/// block's output, and every part of a block but attention works token by token, so the other
/// tokens' queries, attention outputs, proj and MLP rows of that block cannot change the logits:
/// norm1 and qkv still run over every token (the class token attends to all keys and values), the
/// rest on B rows. Same results as the full block (timm computes all rows and drops them); about a
/// tenth less work in a ViT-S/16 step that trains the top half.
///
/// The B-row tensors (`Activations.classRows`) are f32 with f32 products: they are a few rows.
extension VisionTransformer {
    /// The products' mode on the class rows: the layers' backend in f32.
    var classRowsMode: GEMMMode { gemmModes.linear.precision == .bf16 ? .onednnFP32 : gemmModes.linear }

    /// qkv as `qkvForward` wrote it.
    func qkvOperand(_ p: BlockParameterIndices, activations s: BlockActivations) -> Operand {
        qkvInBF16(p) ? .bfloat16(s.qkvBF16) : .float32(s.qkv)
    }

    /// Block `depth - 1` on input `x` (N, C), writing the class rows of `y` (row b·T of image b);
    /// `s` holds its full-token tensors (norm1, qkv), `a.classRows` the rest.
    func lastBlockForward(activations a: Activations, kept s: BlockActivations, input x: UnsafePointer<Float>,
                          output y: UnsafeMutablePointer<Float>, batch b: Int) {
        let p = layout.blocks[config.depth - 1], r = a.classRows
        let t = config.tokens, n = b * t, c = config.width, mode = classRowsMode
        norm1Forward(p, activations: s, input: x, rows: n)
        _ = qkvForward(p, activations: s, rows: n)
        ClassTokenAttention.forward(output: r.attentionOut, probabilities: r.probabilities, qkv: qkvOperand(p, activations: s),
                                    batch: b, tokens: t, heads: config.heads, headDim: config.headDim)
        for image in 0..<b { (r.mid + image * c).update(from: x + image * t * c, count: c) }
        Linear.forward(output: r.mid, accumulate: true, input: r.attentionOut, weight: parameter(p.projWeight),
                       bias: parameter(p.projBias), rows: b, inFeatures: c, outFeatures: c, mode: mode)
        LayerNorm.forward(output: .float32(r.ln2Out), mean: r.ln2Mean, rstd: r.ln2Rstd, input: r.mid,
                          weight: parameter(p.norm2Weight), bias: parameter(p.norm2Bias), rows: b, channels: c,
                          epsilon: config.layerNormEpsilon)
        mlpForward(p, activations: r, geluOut: a.classGeluOut, keepsFC1Out: true, output: a.classOutput, rows: b, mode: mode)
        for image in 0..<b { (y + image * t * c).update(from: a.classOutput + image * c, count: c) }
    }

    /// The backward of `lastBlockForward`: dL/dy (`a.dResidual`) is nonzero in the class rows only,
    /// so the MLP, norm2, proj and attention run backward on B rows, qkv and norm1 on every token.
    func lastBlockBackward(plan: BlockPlan, activations a: Activations, batch b: Int) {
        let p = layout.blocks[config.depth - 1], s = a.kept[config.depth - 1], r = a.classRows, g = a.classGradients
        let t = config.tokens, n = b * t, c = config.width
        for image in 0..<b { (g.residual + image * c).update(from: a.dResidual + image * t * c, count: c) }
        mlpBranchBackward(p, plan: plan, activations: r, a: a, classRows: true, rows: b)
        guard plan.needsMidGradient else { return }
        Linear.backward(inputGradient: plan.runsAttentionBackward ? g.branch : nil, accumulateInput: false,
                        weightGradient: gradient(p.projWeight), biasGradient: gradient(p.projBias),
                        outputGradient: g.residual, input: r.attentionOut, weight: parameter(p.projWeight),
                        rows: b, inFeatures: c, outFeatures: c, partialSums: a.partialSums, mode: classRowsMode)
        guard plan.runsAttentionBackward else { return }
        // d(mid) reaches x through the skip path: the class rows of dResidual (zero elsewhere).
        for image in 0..<b { (a.dResidual + image * t * c).update(from: g.residual + image * c, count: c) }
        ClassTokenAttention.backward(qkvGradient: a.dQKV, outputGradient: g.branch, qkv: qkvOperand(p, activations: s),
                                     probabilities: r.probabilities, batch: b, tokens: t, heads: config.heads,
                                     headDim: config.headDim)
        qkvBackward(p, plan: plan, activations: s, a: a, rows: n)
        norm1Backward(p, plan: plan, activations: s, a: a, input: a.residual[config.depth - 1], rows: n)
    }
}
