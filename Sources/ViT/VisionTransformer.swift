import Tensor

/// A timm `VisionTransformer` (class-token pooling) with hand-written forward and backward over
/// one flat parameter buffer.
///
/// Letters: B batch, T tokens, C width, M MLP width, H heads, D = C/H, K classes, N = B·T.
/// Typical use per step: `zeroGradients()`, `lossAndGradients(...)`, then an optimizer over
/// `trainable.ranges` of `parameters` and `gradients`.
public final class VisionTransformer {
    /// The architecture.
    public let config: ViTConfig
    /// Names, shapes and offsets of every parameter tensor in `parameters` and `gradients`.
    public let layout: ParameterLayout
    /// The weights in `layout` order.
    public let parameters: ParameterBuffer
    /// dL/dparameters in the same layout; only trainable ranges are ever written.
    public let gradients: ParameterBuffer
    /// What trains; set with `setTrainable`.
    public private(set) var trainable: TrainableSet
    /// The library and operand precision of the products, per shape class (OpenBLAS f32 by
    /// default; bf16 operands make this mixed precision: everything else stays f32).
    public var gemmModes = GEMMModes(.openblasFP32) {
        didSet {
            // bf16 attention and layers keep other tensors for the backward.
            guard gemmModes != oldValue else { return }
            activations?.plan(layout: layout, trainable: trainable, modes: gemmModes)
            lastForwardKept = false
        }
    }
    /// Whether attention's products take bf16 operands (rounded once: `Attention.forwardBF16`).
    var bf16Attention: Bool { gemmModes.attention.precision == .bf16 }
    /// Whether the layers' products take bf16 operands (GELU then writes fc2's input in bf16).
    var bf16Layers: Bool { gemmModes.linear == .onednnBF16 }
    /// Whether attention writes its output in bf16 for proj (both bf16: no rounding pass between).
    private var bf16AttentionOut: Bool { bf16Attention && bf16Layers }
    private var activations: Activations?
    /// Batch size and mode of the last forward (the backward reads its activations).
    private var lastBatch = 0
    private var lastForwardKept = false

    /// A model with zeroed parameters (load or initialise them next) and everything trainable.
    public init(layout: ParameterLayout) {
        self.config = layout.config
        self.layout = layout
        parameters = ParameterBuffer(count: layout.count)
        gradients = ParameterBuffer(count: layout.count)
        trainable = TrainableSet(layout: layout, flags: [Bool](repeating: true, count: layout.views.count))
    }

    /// Chooses what trains; activations kept by the next training forward follow it.
    public func setTrainable(_ set: TrainableSet) {
        precondition(set.isTrainable.count == layout.views.count, "trainable set of another layout")
        trainable = set
        activations?.plan(layout: layout, trainable: set, modes: gemmModes)
        lastForwardKept = false
    }

    /// The parameter tensor `index` of the layout.
    @inlinable
    public func parameter(_ index: Int) -> UnsafeMutablePointer<Float> { parameters.base + layout.views[index].offset }

    /// The gradient tensor of view `index`, or nil when it is frozen (its products are skipped).
    @inlinable
    func gradient(_ index: Int?) -> UnsafeMutablePointer<Float>? {
        guard let index, trainable.contains(index) else { return nil }
        return gradients.base + layout.views[index].offset
    }

    /// The logits (B, K) of the last forward (also the one inside `lossAndGradients`), valid until
    /// the next forward; empty before the first.
    public var lastLogits: UnsafeBufferPointer<Float> {
        guard let a = activations else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: a.logits, count: lastBatch * config.classes)
    }

    /// Floats held for the backward beyond the shared scratch, under the current trainable set
    /// (0 before the first forward): shows that frozen layers keep nothing.
    public var keptActivationFloats: Int { activations?.keptFloats ?? 0 }

    /// Zeroes the gradients of the trainable ranges.
    public func zeroGradients() { for r in trainable.ranges { gradients.zero(r) } }

    /// Activations for batches up to `batch`, allocated on first use or when a larger batch comes.
    private func prepare(batch: Int) -> Activations {
        if let a = activations, a.capacity >= batch { return a }
        activations = nil  // free the smaller set first: lower peak memory
        let a = Activations(config: config, loraRank: layout.loraRank, capacity: batch)
        a.plan(layout: layout, trainable: trainable, modes: gemmModes)
        activations = a
        return a
    }

    // MARK: - Forward

    /// Runs the model on `images` (B, Cin, H, W) and returns the logits (B, K), valid until the
    /// next call. With `keepActivations` the tensors the backward needs are kept (training);
    /// without, every block runs on shared scratch (evaluation).
    @discardableResult
    public func forward(images: UnsafePointer<Float>, batch b: Int, keepActivations: Bool) -> UnsafeBufferPointer<Float> {
        precondition(b > 0, "empty batch")
        let a = prepare(batch: b)
        let t = config.tokens, c = config.width, g = config.gridSize * config.gridSize, n = b * t
        let residual = keepActivations ? a.residual : a.inferenceResidual
        // Patch embedding as im2col + GEMM, then class token and position embedding.
        PatchEmbedding.im2col(columns: a.columns, images: images, batch: b, channels: config.channels,
                              height: config.imageSize, width: config.imageSize, patch: config.patchSize)
        Linear.forward(output: a.patchOut, input: a.columns, weight: parameter(layout.patchWeight),
                       bias: parameter(layout.patchBias), rows: b * g, inFeatures: config.patchValues, outFeatures: c, mode: gemmModes.linear)
        let x0 = residual[0], cls = parameter(layout.classToken), pos = parameter(layout.positionEmbedding)
        let patchOut = a.patchOut
        ParallelRows.forEach(count: n, minimumChunk: 64) { _, rows in
            for row in rows {
                let image = row / t, token = row % t
                let src = token == 0 ? cls : patchOut + (image * g + token - 1) * c
                let dst = x0 + row * c, p = pos + token * c
                for j in 0..<c { dst[j] = src[j] + p[j] }
            }
        }
        for i in 0..<config.depth - 1 {
            blockForward(i, activations: keepActivations ? a.kept[i] : a.scratch, geluOut: a.geluOut,
                         keepsFC1Out: keepActivations && a.plans[i].keepsFC1Out,
                         input: residual[i], output: residual[i + 1], batch: b)
        }
        lastBlockForward(activations: a, kept: keepActivations ? a.kept[config.depth - 1] : a.scratch,
                         input: residual[config.depth - 1], output: residual[config.depth], batch: b)
        // Final norm and head on the class tokens only (LayerNorm is per token).
        let last = residual[config.depth]
        for image in 0..<b { (a.classIn + image * c).update(from: last + image * t * c, count: c) }
        LayerNorm.forward(output: a.classNorm, mean: a.classMean, rstd: a.classRstd, input: a.classIn,
                          weight: parameter(layout.normWeight), bias: parameter(layout.normBias),
                          rows: b, channels: c, epsilon: config.layerNormEpsilon)
        Linear.forward(output: a.logits, input: a.classNorm, weight: parameter(layout.headWeight),
                       bias: parameter(layout.headBias), rows: b, inFeatures: c, outFeatures: config.classes, mode: gemmModes.linear)
        lastBatch = b
        lastForwardKept = keepActivations
        return UnsafeBufferPointer(start: a.logits, count: b * config.classes)
    }

    /// One pre-norm block: `mid = x + proj(attn(qkv(norm1(x))))`, `y = mid + fc2(gelu(fc1(norm2(mid))))`.
    /// Without `keepsFC1Out` (inference, a block whose backward does not need it) fc1 writes
    /// GELU(fc1) directly, the GELU fused into the product; with it and bf16 layers, fc1 writes its
    /// output in bf16 and oneDNN's GELU reads it.
    private func blockForward(_ i: Int, activations s: BlockActivations, geluOut: UnsafeMutablePointer<Float>, keepsFC1Out: Bool,
                              input x: UnsafeMutablePointer<Float>, output y: UnsafeMutablePointer<Float>, batch b: Int) {
        let p = layout.blocks[i]
        let n = b * config.tokens, c = config.width
        norm1Forward(p, activations: s, input: x, rows: n)
        let qkvInBF16 = qkvForward(p, activations: s, rows: n)
        attentionForward(p, activations: s, qkvInBF16: qkvInBF16, input: x, batch: b)
        LayerNorm.forward(output: bf16Layers ? .bfloat16(s.ln2OutBF16) : .float32(s.ln2Out), mean: s.ln2Mean,
                          rstd: s.ln2Rstd, input: s.mid, weight: parameter(p.norm2Weight), bias: parameter(p.norm2Bias),
                          rows: n, channels: c, epsilon: config.layerNormEpsilon)
        if bf16Layers {
            mlpForwardBF16(p, activations: s, keepsFC1Out: keepsFC1Out, output: y, rows: n)
        } else {
            mlpForward(p, activations: s, geluOut: geluOut, keepsFC1Out: keepsFC1Out, output: y, rows: n, mode: gemmModes.linear)
        }
    }

    /// `y = mid + fc2(gelu(fc1(ln2Out)))` with f32 layers (products in `mode`); fc1's pre-activation
    /// kept in `s.fc1Out` when `keepsFC1Out`, else GELU fused into fc1's product.
    func mlpForward(_ p: BlockParameterIndices, activations s: BlockActivations, geluOut: UnsafeMutablePointer<Float>,
                    keepsFC1Out: Bool, output y: UnsafeMutablePointer<Float>, rows n: Int, mode: GEMMMode) {
        let c = config.width, m = config.mlpWidth
        if keepsFC1Out {
            Linear.forward(output: s.fc1Out, input: s.ln2Out, weight: parameter(p.fc1Weight), bias: parameter(p.fc1Bias),
                           rows: n, inFeatures: c, outFeatures: m, mode: mode)
            GELU.forward(output: geluOut, input: s.fc1Out, count: n * m)
        } else {
            Linear.forward(output: geluOut, input: s.ln2Out, weight: parameter(p.fc1Weight), bias: parameter(p.fc1Bias),
                           rows: n, inFeatures: c, outFeatures: m, gelu: true, mode: mode)
        }
        Linear.forward(output: y, residual: s.mid, input: geluOut, weight: parameter(p.fc2Weight),
                       bias: parameter(p.fc2Bias), rows: n, inFeatures: m, outFeatures: c, mode: mode)
    }

    /// `mlpForward` with bf16 layers: fc2's input in bf16 (`s.geluOutBF16`), from oneDNN's GELU over
    /// fc1's bf16 pre-activation kept for GELU's backward (`keepsFC1Out`), or from GELU fused into
    /// fc1's product; fc2 adds the residual stream in its epilogue.
    private func mlpForwardBF16(_ p: BlockParameterIndices, activations s: BlockActivations, keepsFC1Out: Bool,
                                output y: UnsafeMutablePointer<Float>, rows n: Int) {
        let c = config.width, m = config.mlpWidth
        if keepsFC1Out {
            Linear.forward(outputBF16: s.fc1OutBF16, inputBF16: s.ln2OutBF16, weight: parameter(p.fc1Weight),
                           bias: parameter(p.fc1Bias), rows: n, inFeatures: c, outFeatures: m)
            GELU.forward(outputBF16: s.geluOutBF16, inputBF16: s.fc1OutBF16, count: n * m)
        } else {
            Linear.forward(outputBF16: s.geluOutBF16, inputBF16: s.ln2OutBF16, weight: parameter(p.fc1Weight),
                           bias: parameter(p.fc1Bias), rows: n, inFeatures: c, outFeatures: m, gelu: true)
        }
        Linear.forward(output: y, residual: s.mid, inputBF16: s.geluOutBF16, weight: parameter(p.fc2Weight),
                       bias: parameter(p.fc2Bias), rows: n, inFeatures: m, outFeatures: c)
    }

    /// Whether norm1 writes its output in bf16 (`s.ln1OutBF16`): with bf16 layers, unless LoRA's
    /// f32 products read it too.
    func norm1InBF16(_ p: BlockParameterIndices) -> Bool { bf16Layers && p.loraA == nil }

    /// Whether qkv's product writes its output in bf16 (`s.qkvBF16`) for bf16 attention: from a
    /// bf16 norm1 output, no LoRA adding to it.
    func qkvInBF16(_ p: BlockParameterIndices) -> Bool { bf16Attention && norm1InBF16(p) }

    /// `mid = x + proj(attn(qkv))`, qkv computed (in bf16 in `s.qkvBF16` when `qkvInBF16`). With
    /// bf16 attention and layers the attention output is written in bf16 by its last product and
    /// proj reads it as is (`s.attentionOutBF16`, kept for proj's weight gradient).
    private func attentionForward(_ p: BlockParameterIndices, activations s: BlockActivations, qkvInBF16: Bool,
                                  input x: UnsafePointer<Float>, batch b: Int) {
        let n = b * config.tokens, c = config.width
        if bf16Attention {
            // The f32 probabilities buffer holds the scores (scratch); the bf16 tensors are kept.
            Attention.forwardBF16(output: bf16AttentionOut ? .bfloat16(s.attentionOutBF16) : .float32(s.attentionOut),
                                  probabilities: s.probabilitiesBF16, qkvBF16: s.qkvBF16, scores: s.probabilities,
                                  qkv: qkvInBF16 ? nil : s.qkv, batch: b, tokens: config.tokens, heads: config.heads,
                                  headDim: config.headDim)
        } else {
            Attention.forward(output: s.attentionOut, probabilities: s.probabilities, qkv: s.qkv, batch: b,
                              tokens: config.tokens, heads: config.heads, headDim: config.headDim, mode: gemmModes.attention)
        }
        if bf16AttentionOut {
            Linear.forward(output: s.mid, residual: x, inputBF16: s.attentionOutBF16, weight: parameter(p.projWeight),
                           bias: parameter(p.projBias), rows: n, inFeatures: c, outFeatures: c)
        } else {
            Linear.forward(output: s.mid, residual: x, input: s.attentionOut, weight: parameter(p.projWeight),
                           bias: parameter(p.projBias), rows: n, inFeatures: c, outFeatures: c, mode: gemmModes.linear)
        }
    }

    /// qkv = norm1(x)·Wᵀ + b, plus LoRA's update: written in bf16 straight into `s.qkvBF16` when
    /// attention and the layers are bf16 and no LoRA adds to it (returns true), else into `s.qkv`.
    func qkvForward(_ p: BlockParameterIndices, activations s: BlockActivations, rows n: Int) -> Bool {
        let c = config.width
        if qkvInBF16(p) {
            Linear.forward(outputBF16: s.qkvBF16, inputBF16: s.ln1OutBF16, weight: parameter(p.qkvWeight),
                           bias: parameter(p.qkvBias), rows: n, inFeatures: c, outFeatures: 3 * c)
            return true
        }
        if norm1InBF16(p) {
            Linear.forward(output: s.qkv, inputBF16: s.ln1OutBF16, weight: parameter(p.qkvWeight), bias: parameter(p.qkvBias),
                           rows: n, inFeatures: c, outFeatures: 3 * c)
            return false
        }
        Linear.forward(output: s.qkv, input: s.ln1Out, weight: parameter(p.qkvWeight), bias: parameter(p.qkvBias),
                       rows: n, inFeatures: c, outFeatures: 3 * c, mode: gemmModes.linear)
        if let loraA = p.loraA, let loraB = p.loraB {
            let r = layout.loraRank, scale = layout.loraScaling
            let a = parameter(loraA), bq = parameter(loraB), bv = bq + c * r
            // u = x·Aᵀ (NT); q += s·u_q·B_qᵀ, v += s·u_v·B_vᵀ (NT, into the q and v column slices).
            GEMM.multiplySplittingRows(.none, .transposed, m: n, n: 2 * r, k: c, a: s.ln1Out, lda: c, b: a, ldb: c,
                          c: s.loraU, ldc: 2 * r, mode: gemmModes.linear)
            GEMM.multiplySplittingRows(.none, .transposed, m: n, n: c, k: r, alpha: scale, a: s.loraU, lda: 2 * r, b: bq, ldb: r,
                          beta: 1, c: s.qkv, ldc: 3 * c, mode: gemmModes.linear)
            GEMM.multiplySplittingRows(.none, .transposed, m: n, n: c, k: r, alpha: scale, a: s.loraU + r, lda: 2 * r, b: bv, ldb: r,
                          beta: 1, c: s.qkv + 2 * c, ldc: 3 * c, mode: gemmModes.linear)
        }
        return false
    }

    // MARK: - Backward

    /// Accumulates dL/dparameters of the trainable views into `gradients`, given dL/dlogits (B, K)
    /// for the last forward, which must have kept its activations (once: it overwrites some).
    /// Stops below the lowest trainable layer and skips the product of every frozen weight.
    public func backward(logitsGradient: UnsafePointer<Float>) {
        precondition(lastForwardKept, "backward needs a forward with keepActivations: true under the current trainable set")
        guard let a = activations else { return }
        lastForwardKept = false  // the backward overwrites kept tensors it has read (fc1Out): one per forward
        let b = lastBatch, t = config.tokens, c = config.width, n = b * t
        let embeddingViews = [layout.classToken, layout.positionEmbedding, layout.patchWeight, layout.patchBias]
        let embeddingsTrain = embeddingViews.contains { trainable.contains($0) }
        let blocksTrain = embeddingsTrain || a.plans.contains { $0.runsBackward }
        let normTrains = trainable.contains(layout.normWeight) || trainable.contains(layout.normBias)
        Linear.backward(inputGradient: blocksTrain || normTrains ? a.dClassNorm : nil, accumulateInput: false,
                        weightGradient: gradient(layout.headWeight), biasGradient: gradient(layout.headBias),
                        outputGradient: logitsGradient, input: a.classNorm, weight: parameter(layout.headWeight),
                        rows: b, inFeatures: c, outFeatures: config.classes, partialSums: a.partialSums, mode: gemmModes.linear)
        guard blocksTrain || normTrains else { return }
        if blocksTrain { a.dClassIn.update(repeating: 0, count: b * c) }
        LayerNorm.backward(inputGradient: blocksTrain ? a.dClassIn : nil, weightGradient: gradient(layout.normWeight),
                           biasGradient: gradient(layout.normBias), outputGradient: a.dClassNorm, input: a.classIn,
                           weight: parameter(layout.normWeight), mean: a.classMean, rstd: a.classRstd, rows: b, channels: c, partialSums: a.partialSums)
        guard blocksTrain else { return }
        a.dResidual.update(repeating: 0, count: n * c)
        for image in 0..<b { (a.dResidual + image * t * c).update(from: a.dClassIn + image * c, count: c) }
        for i in (0..<config.depth).reversed() {
            let plan = a.plans[i]
            guard plan.runsBackward else { break }
            if i == config.depth - 1 {
                lastBlockBackward(plan: plan, activations: a, batch: b)
            } else {
                blockBackward(i, plan: plan, activations: a, batch: b)
            }
            guard plan.needsInputGradient else { break }
        }
        if embeddingsTrain { embeddingBackward(activations: a, batch: b) }
    }

    /// The backward of block `i`: turns dResidual from d(output) into d(input) where needed.
    private func blockBackward(_ i: Int, plan: BlockPlan, activations a: Activations, batch b: Int) {
        let p = layout.blocks[i], s = a.kept[i]
        let n = b * config.tokens
        mlpBranchBackward(p, plan: plan, activations: s, a: a, classRows: false, rows: n)
        guard plan.needsMidGradient else { return }
        // Attention branch: mid = x + proj(attn(qkv(norm1(x)))).
        if bf16AttentionOut && p.loraA == nil {
            attentionBackwardBF16(p, plan: plan, activations: s, a: a, batch: b)
        } else {
            attentionBackward(p, plan: plan, activations: s, a: a, batch: b)
        }
        guard plan.runsAttentionBackward else { return }
        norm1Backward(p, plan: plan, activations: s, a: a, input: a.residual[i], rows: n)
    }

    /// norm1 over the block's input `x` (N, C), written in bf16 into `s.ln1OutBF16` when
    /// `norm1InBF16`, else into `s.ln1Out`.
    func norm1Forward(_ p: BlockParameterIndices, activations s: BlockActivations, input x: UnsafePointer<Float>,
                      rows n: Int) {
        LayerNorm.forward(output: norm1InBF16(p) ? .bfloat16(s.ln1OutBF16) : .float32(s.ln1Out), mean: s.ln1Mean,
                          rstd: s.ln1Rstd, input: x, weight: parameter(p.norm1Weight), bias: parameter(p.norm1Bias),
                          rows: n, channels: config.width, epsilon: config.layerNormEpsilon)
    }

    /// norm1's backward from dL/dln1Out in `a.dBranch` (when the plan needs it): its parameters'
    /// gradients, and dL/dx added to `a.dResidual` when the gradient goes below the block.
    func norm1Backward(_ p: BlockParameterIndices, plan: BlockPlan, activations s: BlockActivations, a: Activations,
                       input x: UnsafePointer<Float>, rows n: Int) {
        guard plan.needsLN1OutGradient else { return }
        LayerNorm.backward(inputGradient: plan.needsInputGradient ? a.dResidual : nil,
                           weightGradient: gradient(p.norm1Weight), biasGradient: gradient(p.norm1Bias),
                           outputGradient: a.dBranch, input: x, weight: parameter(p.norm1Weight),
                           mean: s.ln1Mean, rstd: s.ln1Rstd, rows: n, channels: config.width, partialSums: a.partialSums)
    }

    /// The MLP branch's backward, `y = mid + fc2(gelu(fc1(norm2(mid))))`: turns dL/dy into dL/dmid
    /// in place (when `plan.needsMidGradient`), in `a.dResidual` over all N rows, or with
    /// `classRows` in `a.classGradients.residual` over the last block's B class rows (f32, `s` =
    /// `a.classRows`).
    func mlpBranchBackward(_ p: BlockParameterIndices, plan: BlockPlan, activations s: BlockActivations, a: Activations,
                           classRows: Bool, rows n: Int) {
        let norm2 = trainable.contains(p.norm2Weight) || trainable.contains(p.norm2Bias)
        let needsLN2Out = norm2 || plan.needsMidGradient
        let needsHidden = needsLN2Out || trainable.contains(p.fc1Weight) || trainable.contains(p.fc1Bias)
        let g = classRows ? a.classGradients : a.blockGradients
        if bf16Layers && !classRows {
            mlpBackwardBF16(p, activations: s, a: a, needsHidden: needsHidden, needsLN2Out: needsLN2Out, rows: n)
        } else {
            mlpBackward(p, activations: s, gradients: g, geluOut: classRows ? a.classGeluOut : a.geluOut,
                        partialSums: a.partialSums, needsHidden: needsHidden, needsLN2Out: needsLN2Out, rows: n,
                        mode: classRows ? classRowsMode : gemmModes.linear)
        }
        guard needsLN2Out else { return }
        // g.residual already holds the skip path's d(mid); norm2's input gradient adds to it.
        LayerNorm.backward(inputGradient: plan.needsMidGradient ? g.residual : nil,
                           weightGradient: gradient(p.norm2Weight), biasGradient: gradient(p.norm2Bias),
                           outputGradient: g.branch, input: s.mid, weight: parameter(p.norm2Weight),
                           mean: s.ln2Mean, rstd: s.ln2Rstd, rows: n, channels: config.width, partialSums: a.partialSums)
    }

    /// The attention branch's backward from dResidual = dL/dmid: proj's gradients, then (when it
    /// runs) attention's and qkv's (with LoRA's), leaving dL/dln1Out (N, C) in `a.dBranch` when
    /// `plan.needsLN1OutGradient`.
    private func attentionBackward(_ p: BlockParameterIndices, plan: BlockPlan, activations s: BlockActivations,
                                   a: Activations, batch b: Int) {
        let n = b * config.tokens, c = config.width
        Linear.backward(inputGradient: plan.runsAttentionBackward ? a.dBranch : nil, accumulateInput: false,
                        weightGradient: gradient(p.projWeight), biasGradient: gradient(p.projBias),
                        outputGradient: a.dResidual, input: s.attentionOut,
                        inputBF16: bf16AttentionOut ? s.attentionOutBF16 : nil, weight: parameter(p.projWeight),
                        rows: n, inFeatures: c, outFeatures: c, partialSums: a.partialSums, mode: gemmModes.linear)
        guard plan.runsAttentionBackward else { return }
        if bf16Attention {
            Attention.backwardBF16(qkvGradient: .float32(a.dQKV), outputGradient: a.dBranch, qkvBF16: s.qkvBF16,
                                   probabilities: s.probabilitiesBF16, outputGradientBF16: a.dAttentionOutBF16,
                                   scoresGradientBF16: a.dScoresBF16, batch: b,
                                   tokens: config.tokens, heads: config.heads, headDim: config.headDim)
        } else {
            Attention.backward(qkvGradient: a.dQKV, scratch: a.dScores, outputGradient: a.dBranch, qkv: s.qkv,
                               probabilities: s.probabilities, batch: b, tokens: config.tokens, heads: config.heads,
                               headDim: config.headDim, mode: gemmModes.attention)
        }
        qkvBackward(p, plan: plan, activations: s, a: a, rows: n)
    }

    /// qkv's gradients (and LoRA's) from dL/dqkv in f32 (`a.dQKV`, N × 3C), leaving dL/dln1Out
    /// (N, C) in `a.dBranch` when `plan.needsLN1OutGradient`.
    func qkvBackward(_ p: BlockParameterIndices, plan: BlockPlan, activations s: BlockActivations, a: Activations,
                     rows n: Int) {
        let c = config.width, needsLN1Out = plan.needsLN1OutGradient
        var loraInputGradient: (() -> Void)?
        if let loraA = p.loraA, let loraB = p.loraB {
            loraInputGradient = loraBackward(activations: s, a: a, loraA: loraA, loraB: loraB, rows: n,
                                             needsInputGradient: needsLN1Out)
        }
        Linear.backward(inputGradient: needsLN1Out ? a.dBranch : nil, accumulateInput: false,
                        weightGradient: gradient(p.qkvWeight), biasGradient: gradient(p.qkvBias),
                        outputGradient: a.dQKV, input: s.ln1Out, inputBF16: norm1InBF16(p) ? s.ln1OutBF16 : nil,
                        weight: parameter(p.qkvWeight),
                        rows: n, inFeatures: c, outFeatures: 3 * c, partialSums: a.partialSums, mode: gemmModes.linear)
        loraInputGradient?()
    }

    /// `attentionBackward` with bf16 attention and layers and no LoRA, as PyTorch's autocast: proj
    /// writes dL/d(attention output) in bf16 (`a.dAttentionOutBF16`), attention writes dL/dqkv in
    /// bf16 (`a.dQKVBF16`, N × 3C), and qkv's products and bias gradient take it as it is.
    private func attentionBackwardBF16(_ p: BlockParameterIndices, plan: BlockPlan, activations s: BlockActivations,
                                       a: Activations, batch b: Int) {
        let n = b * config.tokens, c = config.width
        Linear.backward(inputGradientBF16: plan.runsAttentionBackward ? a.dAttentionOutBF16 : nil,
                        weightGradient: gradient(p.projWeight), biasGradient: gradient(p.projBias),
                        outputGradient: a.dResidual, inputBF16: s.attentionOutBF16, weight: parameter(p.projWeight),
                        rows: n, inFeatures: c, outFeatures: c, partialSums: a.partialSums)
        guard plan.runsAttentionBackward else { return }
        Attention.backwardBF16(qkvGradient: .bfloat16(a.dQKVBF16), outputGradient: nil, qkvBF16: s.qkvBF16,
                               probabilities: s.probabilitiesBF16, outputGradientBF16: a.dAttentionOutBF16,
                               scoresGradientBF16: a.dScoresBF16, batch: b,
                               tokens: config.tokens, heads: config.heads, headDim: config.headDim)
        Linear.backward(inputGradient: plan.needsLN1OutGradient ? a.dBranch : nil, accumulateInput: false,
                        weightGradient: gradient(p.qkvWeight), biasGradient: gradient(p.qkvBias),
                        outputGradientBF16: a.dQKVBF16, inputBF16: s.ln1OutBF16, weight: parameter(p.qkvWeight),
                        rows: n, inFeatures: c, outFeatures: 3 * c, partialSums: a.partialSums)
    }

    /// The MLP's backward with f32 layers (products in `mode`), from `g.residual` = dL/dy: fc2's
    /// gradients, then (when `needsHidden`) dL/dhidden (N, M) in `g.hidden`, GELU's backward and
    /// fc1's gradients, with dL/dln2Out (N, C) into `g.branch` when `needsLN2Out`. `geluOut` (N, M)
    /// is scratch.
    func mlpBackward(_ p: BlockParameterIndices, activations s: BlockActivations, gradients g: BranchGradients,
                     geluOut: UnsafeMutablePointer<Float>, partialSums: PartialSums, needsHidden: Bool,
                     needsLN2Out: Bool, rows n: Int, mode: GEMMMode) {
        let c = config.width, m = config.mlpWidth
        // One pass: GELU(fc1Out) for fc2's weight gradient, GELU' over fc1Out (its last reader).
        let fc2Trains = trainable.contains(p.fc2Weight)
        if needsHidden {
            GELU.forwardAndDerivative(output: fc2Trains ? geluOut : nil, derivative: s.fc1Out, input: s.fc1Out, count: n * m)
        } else if fc2Trains {
            GELU.forward(output: geluOut, input: s.fc1Out, count: n * m)
        }
        Linear.backward(inputGradient: needsHidden ? g.hidden : nil, accumulateInput: false,
                        weightGradient: gradient(p.fc2Weight), biasGradient: gradient(p.fc2Bias),
                        outputGradient: g.residual, input: geluOut, weight: parameter(p.fc2Weight),
                        rows: n, inFeatures: m, outFeatures: c, partialSums: partialSums, mode: mode)
        guard needsHidden else { return }
        GELU.backward(inputGradient: g.hidden, outputGradient: g.hidden, derivative: s.fc1Out, count: n * m)
        Linear.backward(inputGradient: needsLN2Out ? g.branch : nil, accumulateInput: false,
                        weightGradient: gradient(p.fc1Weight), biasGradient: gradient(p.fc1Bias),
                        outputGradient: g.hidden, input: s.ln2Out, weight: parameter(p.fc1Weight),
                        rows: n, inFeatures: c, outFeatures: m, partialSums: partialSums, mode: mode)
    }

    /// `mlpBackward` with bf16 layers, as PyTorch's autocast: fc2's input gradient written in bf16
    /// (`a.dHiddenBF16`, N × M), GELU's backward in bf16 on fc1's kept bf16 output, and fc1's
    /// products and bias gradient on that bf16 gradient as it is (f32 accumulation throughout).
    private func mlpBackwardBF16(_ p: BlockParameterIndices, activations s: BlockActivations, a: Activations,
                                 needsHidden: Bool, needsLN2Out: Bool, rows n: Int) {
        let c = config.width, m = config.mlpWidth
        Linear.backward(inputGradientBF16: needsHidden ? a.dHiddenBF16 : nil,
                        weightGradient: gradient(p.fc2Weight), biasGradient: gradient(p.fc2Bias),
                        outputGradient: a.dResidual, inputBF16: s.geluOutBF16, weight: parameter(p.fc2Weight),
                        rows: n, inFeatures: m, outFeatures: c, partialSums: a.partialSums)
        guard needsHidden else { return }
        GELU.backward(inputGradientBF16: a.dHiddenBF16, outputGradientBF16: a.dHiddenBF16, inputBF16: s.fc1OutBF16,
                      count: n * m)
        Linear.backward(inputGradient: needsLN2Out ? a.dBranch : nil, accumulateInput: false,
                        weightGradient: gradient(p.fc1Weight), biasGradient: gradient(p.fc1Bias),
                        outputGradientBF16: a.dHiddenBF16, inputBF16: s.ln2OutBF16, weight: parameter(p.fc1Weight),
                        rows: n, inFeatures: c, outFeatures: m, partialSums: a.partialSums)
    }

    /// LoRA factor gradients from dQKV; returns the step that adds the LoRA path's input gradient
    /// to dBranch, to run after qkv's own input gradient has overwritten it.
    private func loraBackward(activations s: BlockActivations, a: Activations, loraA: Int, loraB: Int, rows n: Int,
                              needsInputGradient: Bool) -> (() -> Void)? {
        let c = config.width, r = layout.loraRank, scale = layout.loraScaling
        let bq = parameter(loraB), bv = bq + c * r, aw = parameter(loraA)
        if let gB = gradient(loraB) {
            // dB_q += s·dqᵀ·u_q, dB_v += s·dvᵀ·u_v (TN).
            GEMM.multiplySplittingRows(.transposed, .none, m: c, n: r, k: n, alpha: scale, a: a.dQKV, lda: 3 * c, b: s.loraU,
                          ldb: 2 * r, beta: 1, c: gB, ldc: r, mode: gemmModes.linear)
            GEMM.multiplySplittingRows(.transposed, .none, m: c, n: r, k: n, alpha: scale, a: a.dQKV + 2 * c, lda: 3 * c,
                          b: s.loraU + r, ldb: 2 * r, beta: 1, c: gB + c * r, ldc: r, mode: gemmModes.linear)
        }
        let gA = gradient(loraA)
        guard gA != nil || needsInputGradient else { return nil }
        // du_q = s·dq·B_q, du_v = s·dv·B_v (NN).
        GEMM.multiplySplittingRows(.none, .none, m: n, n: r, k: c, alpha: scale, a: a.dQKV, lda: 3 * c, b: bq, ldb: r,
                      c: a.dLoRAU, ldc: 2 * r, mode: gemmModes.linear)
        GEMM.multiplySplittingRows(.none, .none, m: n, n: r, k: c, alpha: scale, a: a.dQKV + 2 * c, lda: 3 * c, b: bv, ldb: r,
                      c: a.dLoRAU + r, ldc: 2 * r, mode: gemmModes.linear)
        if let gA {
            // dA += duᵀ·x (TN).
            GEMM.multiplySplittingRows(.transposed, .none, m: 2 * r, n: c, k: n, a: a.dLoRAU, lda: 2 * r, b: s.ln1Out, ldb: c,
                          beta: 1, c: gA, ldc: c, mode: gemmModes.linear)
        }
        guard needsInputGradient else { return nil }
        let du = a.dLoRAU, dx = a.dBranch, mode = gemmModes.linear
        // dx += du·A (NN).
        return { GEMM.multiplySplittingRows(.none, .none, m: n, n: c, k: 2 * r, a: du, lda: 2 * r, b: aw, ldb: c, beta: 1, c: dx, ldc: c, mode: mode) }
    }

    /// Gradients of the class token, position embedding and patch embedding from d(tokens).
    private func embeddingBackward(activations a: Activations, batch b: Int) {
        let t = config.tokens, c = config.width, g = config.gridSize * config.gridSize
        if let gPos = gradient(layout.positionEmbedding) {
            ColumnSum.accumulate(into: gPos, matrix: a.dResidual, rows: b, columns: t * c, stride: t * c, partialSums: a.partialSums)
        }
        if let gCls = gradient(layout.classToken) {
            ColumnSum.accumulate(into: gCls, matrix: a.dResidual, rows: b, columns: c, stride: t * c, partialSums: a.partialSums)
        }
        let gW = gradient(layout.patchWeight), gB = gradient(layout.patchBias)
        guard gW != nil || gB != nil else { return }
        for image in 0..<b {
            (a.dBranch + image * g * c).update(from: a.dResidual + (image * t + 1) * c, count: g * c)
        }
        Linear.backward(inputGradient: nil, weightGradient: gW, biasGradient: gB, outputGradient: a.dBranch,
                        input: a.columns, weight: parameter(layout.patchWeight), rows: b * g,
                        inFeatures: config.patchValues, outFeatures: c, partialSums: a.partialSums, mode: gemmModes.linear)
    }

    // MARK: - Loss

    /// Forward with kept activations, cross-entropy (see `CrossEntropy`) and backward; gradients
    /// accumulate into `gradients` (call `zeroGradients()` first).
    ///
    /// With `.mean` the gradients are those of the weighted-mean loss, as torch's `CrossEntropyLoss`.
    /// With `.sum` they are those of the weighted *sum* Σᵢ w[yᵢ]·ℓᵢ (the mean's gradient times Σw), so
    /// that data-parallel ranks can add their sums and divide once by the global Σw.
    ///
    /// - Parameters:
    ///   - images: (B, Cin, H, W).
    ///   - labels: (B), each in 0..<K.
    ///   - classWeights: (K) or nil.
    /// - Throws: `ViTError.invalidInput` for a label outside 0..<K.
    @discardableResult
    public func lossAndGradients(images: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch b: Int,
                                 classWeights: UnsafePointer<Float>? = nil, labelSmoothing: Float = 0,
                                 reduction: LossReduction = .mean) throws(ViTError) -> BatchLoss {
        for i in 0..<b where labels[i] < 0 || Int(labels[i]) >= config.classes {
            throw .invalidInput("label \(labels[i]) of sample \(i) is outside 0..<\(config.classes)")
        }
        let logits = forward(images: images, batch: b, keepActivations: true)
        guard let a = activations else { return BatchLoss(mean: .nan, weightSum: 0) }
        let k = config.classes
        var weightSum = 0.0
        for i in 0..<b { weightSum += Double(classWeights?[Int(labels[i])] ?? 1) }
        let mean = CrossEntropy.loss(logits: logits.baseAddress!, labels: labels, classWeights: classWeights,
                                     labelSmoothing: labelSmoothing, rows: b, classes: k)
        CrossEntropy.backward(logitsGradient: a.logitsGradient, logits: logits.baseAddress!, labels: labels,
                              classWeights: classWeights, labelSmoothing: labelSmoothing, rows: b, classes: k)
        if reduction == .sum {
            // A batch whose rows all weigh 0 contributes nothing (its mean's gradient is 0/0).
            let scale = Float(weightSum)
            for i in 0..<(b * k) { a.logitsGradient[i] = weightSum == 0 ? 0 : a.logitsGradient[i] * scale }
        }
        backward(logitsGradient: a.logitsGradient)
        return BatchLoss(mean: mean, weightSum: weightSum)
    }
}

/// How `lossAndGradients` reduces the per-sample losses.
public enum LossReduction: Sendable {
    /// Weighted mean: Σ w[yᵢ]·ℓᵢ / Σ w[yᵢ] (torch's default).
    case mean
    /// Weighted sum: Σ w[yᵢ]·ℓᵢ.
    case sum
}

/// A batch's cross-entropy.
public struct BatchLoss: Sendable {
    /// The weighted-mean loss.
    public var mean: Float
    /// Σ w[yᵢ] over the batch (the row count when unweighted).
    public var weightSum: Double
    /// The weighted sum, Σ w[yᵢ]·ℓᵢ, from the mean (0 for a batch of zero weight).
    public var sum: Double { weightSum == 0 ? 0 : Double(mean) * weightSum }

    public init(mean: Float, weightSum: Double) {
        self.mean = mean
        self.weightSum = weightSum
    }
}
