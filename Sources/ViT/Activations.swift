import Tensor

/// The tensors one block's forward writes, as pointers; each either owns memory (kept for the
/// backward) or aliases the shared scratch of the inference path.
///
/// Letters: N = B·T token rows, C width, M MLP width, H heads, r LoRA rank.
struct BlockActivations {
    /// norm1 output (N, C) and its row statistics (N).
    var ln1Out, ln1Mean, ln1Rstd: UnsafeMutablePointer<Float>
    /// With bf16 layers: norm1's output (unless LoRA reads it in f32) and norm2's in bf16 (N, C),
    /// kept in place of the f32 ones for the weight gradients of qkv and fc1.
    var ln1OutBF16, ln2OutBF16: UnsafeMutablePointer<UInt16>
    /// qkv projection (N, 3C) and attention probabilities (B, H, T, T); with bf16 attention the
    /// probabilities are f32 scratch (the scores) and not kept.
    var qkv, probabilities: UnsafeMutablePointer<Float>
    /// With bf16 attention: qkv rounded (N, 3C) and the probabilities (B, H, T, T), in bf16; kept
    /// for the backward in place of the f32 qkv and probabilities.
    var qkvBF16, probabilitiesBF16: UnsafeMutablePointer<UInt16>
    /// LoRA down-projection u = x·Aᵀ (N, 2r).
    var loraU: UnsafeMutablePointer<Float>
    /// Attention output before proj (N, C).
    var attentionOut: UnsafeMutablePointer<Float>
    /// With bf16 attention and layers: the attention output in bf16 (N, C), proj's input, kept
    /// for proj's weight gradient in place of `attentionOut`.
    var attentionOutBF16: UnsafeMutablePointer<UInt16>
    /// Residual stream after attention (N, C), norm2 output (N, C) and statistics (N).
    var mid, ln2Out, ln2Mean, ln2Rstd: UnsafeMutablePointer<Float>
    /// fc1 output before GELU (N, M), f32 layers; GELU' of it once the backward has run.
    var fc1Out: UnsafeMutablePointer<Float>
    /// With bf16 layers: fc1's output before GELU in bf16 (N, M), kept for GELU's backward.
    var fc1OutBF16: UnsafeMutablePointer<UInt16>
    /// With bf16 layers: GELU(fc1 output) in bf16 (N, M), fc2's input, kept when fc2's weight trains.
    var geluOutBF16: UnsafeMutablePointer<UInt16>
}

/// The gradient buffers a block's MLP backward works in: dL/d(block output) then dL/dmid
/// (`residual`), the branch's input gradient (`branch`) and the hidden one (`hidden`); over all N
/// rows, or the last block's B class rows.
struct BranchGradients {
    var residual, branch, hidden: UnsafeMutablePointer<Float>
}

/// What the backward of one block reads, decided from the trainable set before the forward:
/// a tensor is kept only if some gradient that is needed reads it.
struct BlockPlan {
    /// Block i's backward runs at all.
    var runsBackward = false
    /// The gradient must reach the block's input (something below block i trains).
    var needsInputGradient = false
    /// The gradient must reach the residual stream between attention and MLP.
    var needsMidGradient = false
    /// The attention branch's backward runs (attention, LoRA or norm1 trainable, or gradient below).
    var runsAttentionBackward = false
    /// dL/d(norm1's output) is needed: norm1 trains, or the gradient must reach the block's input.
    var needsLN1OutGradient = false
    var keepsInput = false, keepsLN1Out = false, keepsAttention = false, keepsLoRAU = false
    var keepsAttentionOut = false, keepsMid = false, keepsLN2Out = false, keepsFC1Out = false

    /// The plans of every block, bottom up.
    static func plans(layout: ParameterLayout, trainable: TrainableSet) -> [BlockPlan] {
        let embeddings = [layout.classToken, layout.positionEmbedding, layout.patchWeight, layout.patchBias]
        var somethingBelow = embeddings.contains { trainable.contains($0) }
        return (0..<layout.config.depth).map { i in
            let plan = BlockPlan(layout: layout, trainable: trainable, block: i, somethingBelow: somethingBelow)
            somethingBelow = somethingBelow || layout.viewIndices(ofBlock: i).contains { trainable.contains($0) }
            return plan
        }
    }

    init(layout: ParameterLayout, trainable: TrainableSet, block i: Int, somethingBelow: Bool) {
        let b = layout.blocks[i]
        let t = { (v: Int?) in trainable.contains(v) }
        let norm1 = t(b.norm1Weight) || t(b.norm1Bias), norm2 = t(b.norm2Weight) || t(b.norm2Bias)
        let qkv = t(b.qkvWeight) || t(b.qkvBias), lora = t(b.loraA) || t(b.loraB)
        let proj = t(b.projWeight) || t(b.projBias)
        let mlp = t(b.fc1Weight) || t(b.fc1Bias) || t(b.fc2Weight) || t(b.fc2Bias)
        needsInputGradient = somethingBelow
        runsAttentionBackward = norm1 || qkv || lora || somethingBelow
        needsMidGradient = runsAttentionBackward || proj
        runsBackward = needsMidGradient || norm2 || mlp
        needsLN1OutGradient = norm1 || somethingBelow
        keepsInput = needsLN1OutGradient  // norm1's backward reads its input
        keepsLN1Out = t(b.qkvWeight) || t(b.loraA)
        keepsLoRAU = t(b.loraB)
        keepsAttention = runsAttentionBackward
        keepsAttentionOut = t(b.projWeight)
        keepsMid = norm2 || needsMidGradient
        keepsLN2Out = t(b.fc1Weight)
        keepsFC1Out = t(b.fc2Weight) || t(b.fc1Weight) || t(b.fc1Bias) || norm2 || needsMidGradient
    }
}

/// Every activation and gradient scratch of the model for batches up to `capacity`, allocated once.
///
/// Blocks below the lowest trainable layer, and tensors no needed gradient reads, share one set of
/// scratch buffers, so a mask that trains only the top block costs about an inference.
final class Activations {
    let capacity: Int
    /// Every buffer, f32 or bf16, owned for the model's life.
    private var owned: [UnsafeMutableRawPointer] = []
    /// The kept tensors of the current plan, freed when the plan changes.
    private var planOwned: [UnsafeMutableRawPointer] = []
    /// Floats allocated for the current plan's kept tensors (0 when nothing below the head trains);
    /// a bf16 value counts as half a float.
    private(set) var keptFloats = 0
    /// Residual stream entering block i, i in 0...depth (index depth: after the last block).
    var residual: [UnsafeMutablePointer<Float>] = []
    /// The kept tensors of each block (aliasing scratch where not kept) and the all-scratch set.
    var kept: [BlockActivations] = []
    var scratch: BlockActivations
    var plans: [BlockPlan] = []
    /// Residual pointers of the inference path (ping-pong between two scratch buffers).
    var inferenceResidual: [UnsafeMutablePointer<Float>] = []
    /// GELU output scratch (N, M), recomputed in the backward.
    let geluOut: UnsafeMutablePointer<Float>
    /// im2col columns (B·G, Cin·P·P) and patch-embedding output (B·G, C).
    let columns, patchOut: UnsafeMutablePointer<Float>
    /// Class-token rows after the last block (B, C), after the final norm (B, C), its statistics (B).
    let classIn, classNorm, classMean, classRstd: UnsafeMutablePointer<Float>
    /// Logits (B, K) and their gradient (B, K).
    let logits, logitsGradient: UnsafeMutablePointer<Float>
    /// Gradient scratch: residual stream (N, C), a branch tensor (N, C), qkv (N, 3C), MLP hidden
    /// (N, M), attention scores (B, H, T, T; f32 attention only), LoRA u (N, 2r), class rows (B, C) ×2.
    let dResidual, dBranch, dQKV, dHidden, dScores, dLoRAU, dClassNorm, dClassIn: UnsafeMutablePointer<Float>
    /// bf16 gradient scratch of bf16 attention: its output gradient (N, C) and dL/dprobabilities,
    /// then dL/dscores in place (B, H, T, T); of bf16 layers: the MLP hidden gradient (N, M), GELU's
    /// output gradient then its input gradient; of both: dL/dqkv (N, 3C).
    let dAttentionOutBF16, dScoresBF16, dHiddenBF16, dQKVBF16: UnsafeMutablePointer<UInt16>
    /// Per-thread partial sums of the norm and bias gradients (grown once, then reused).
    let partialSums = PartialSums()
    /// `dResidual`, `dBranch` and `dHidden` as the MLP backward takes them.
    var blockGradients: BranchGradients { BranchGradients(residual: dResidual, branch: dBranch, hidden: dHidden) }
    /// The last block past qkv on the class token only (`VisionTransformer.lastBlockForward`), B
    /// rows: attention output, mid, norm2, fc1 output (B, C or M) and probabilities (B, H, T) in
    /// f32; its GELU output (B, M), output (B, C) and gradients (B, C; B, C; B, M).
    let classRows: BlockActivations
    let classGeluOut, classOutput: UnsafeMutablePointer<Float>
    let classGradients: BranchGradients

    init(config: ViTConfig, loraRank: Int, capacity: Int) {
        self.capacity = capacity
        let n = capacity * config.tokens, c = config.width, m = config.mlpWidth
        let attentionCount = capacity * config.heads * config.tokens * config.tokens
        let patches = capacity * config.gridSize * config.gridSize
        var owned: [UnsafeMutableRawPointer] = []
        // Allocated now, resident only once written (a bf16 tensor only with bf16 products).
        func make<Element>(_ count: Int) -> UnsafeMutablePointer<Element> {
            let p = UnsafeMutablePointer<Element>.allocate(capacity: max(count, 1))
            owned.append(UnsafeMutableRawPointer(p))
            return p
        }
        func makeBlock(rows n: Int, attentionCount: Int) -> BlockActivations {
            BlockActivations(ln1Out: make(n * c), ln1Mean: make(n), ln1Rstd: make(n), ln1OutBF16: make(n * c),
                             ln2OutBF16: make(n * c), qkv: make(n * 3 * c),
                             probabilities: make(attentionCount), qkvBF16: make(n * 3 * c),
                             probabilitiesBF16: make(attentionCount), loraU: make(n * 2 * loraRank),
                             attentionOut: make(n * c), attentionOutBF16: make(n * c),
                             mid: make(n * c), ln2Out: make(n * c), ln2Mean: make(n),
                             ln2Rstd: make(n), fc1Out: make(n * m), fc1OutBF16: make(n * m),
                             geluOutBF16: make(n * m))
        }
        scratch = makeBlock(rows: n, attentionCount: attentionCount)
        classRows = makeBlock(rows: capacity, attentionCount: capacity * config.heads * config.tokens)
        classGeluOut = make(capacity * m); classOutput = make(capacity * c)
        classGradients = BranchGradients(residual: make(capacity * c), branch: make(capacity * c), hidden: make(capacity * m))
        let pingPong: [UnsafeMutablePointer<Float>] = [make(n * c), make(n * c)]
        inferenceResidual = (0...config.depth).map { pingPong[$0 % 2] }
        geluOut = make(n * m)
        columns = make(patches * config.patchValues)
        patchOut = make(patches * c)
        classIn = make(capacity * c); classNorm = make(capacity * c)
        classMean = make(capacity); classRstd = make(capacity)
        logits = make(capacity * config.classes); logitsGradient = make(capacity * config.classes)
        // Gradient scratch: allocated now, touched (and so resident) only when a backward runs.
        dResidual = make(n * c); dBranch = make(n * c); dQKV = make(n * 3 * c); dHidden = make(n * m)
        dScores = make(attentionCount); dLoRAU = make(n * 2 * loraRank)
        dClassNorm = make(capacity * c); dClassIn = make(capacity * c)
        dAttentionOutBF16 = make(n * c); dScoresBF16 = make(attentionCount); dHiddenBF16 = make(n * m)
        dQKVBF16 = make(n * 3 * c)
        self.owned = owned
        kept = [BlockActivations](repeating: scratch, count: config.depth)
        residual = inferenceResidual
    }

    /// Allocates the kept tensors for `trainable` (called once per trainable set and modes):
    /// bf16 attention keeps attention's bf16 operands instead of its f32 tensors; bf16 layers keep
    /// the norms' outputs, fc1's output and fc2's input in bf16 instead of f32, and with bf16
    /// attention proj's input too.
    func plan(layout: ParameterLayout, trainable: TrainableSet, modes: GEMMModes) {
        for p in planOwned { p.deallocate() }
        planOwned = []
        keptFloats = 0
        plans = BlockPlan.plans(layout: layout, trainable: trainable)
        // Scratch residuals alternate by parity, so a block never reads and writes the same one.
        residual = inferenceResidual
        for (i, plan) in plans.enumerated() {
            if plan.keepsInput { residual[i] = makeKept(capacity * layout.config.tokens * layout.config.width) }
            kept[i] = keptTensors(block: i, plan: plan, layout: layout, trainable: trainable, modes: modes)
        }
    }

    /// Block i's tensors under `plan`: owned where the backward reads them, the shared scratch elsewhere.
    private func keptTensors(block i: Int, plan: BlockPlan, layout: ParameterLayout, trainable: TrainableSet,
                             modes: GEMMModes) -> BlockActivations {
        let bf16Attention = modes.attention.precision == .bf16, bf16Layers = modes.linear == .onednnBF16
        let config = layout.config
        let n = capacity * config.tokens, c = config.width, m = config.mlpWidth
        let attentionCount = capacity * config.heads * config.tokens * config.tokens
        var a = scratch
        let norm1InBF16 = bf16Layers && layout.blocks[i].loraA == nil
        if plan.keepsInput { a.ln1Mean = makeKept(n); a.ln1Rstd = makeKept(n) }
        if plan.keepsLN1Out && norm1InBF16 {
            a.ln1OutBF16 = makeKept(n * c)
        } else if plan.keepsLN1Out {
            a.ln1Out = makeKept(n * c)
        }
        if plan.keepsLoRAU { a.loraU = makeKept(n * 2 * layout.loraRank) }
        if i == config.depth - 1 {
            // The last block keeps only its full-token tensors: qkv as qkvForward writes it; the
            // rest lives in the class rows.
            if plan.keepsAttention && bf16Attention && norm1InBF16 {
                a.qkvBF16 = makeKept(n * 3 * c)
            } else if plan.keepsAttention {
                a.qkv = makeKept(n * 3 * c)
            }
            return a
        }
        if plan.keepsAttention && bf16Attention {
            a.qkvBF16 = makeKept(n * 3 * c); a.probabilitiesBF16 = makeKept(attentionCount)
        } else if plan.keepsAttention {
            a.qkv = makeKept(n * 3 * c); a.probabilities = makeKept(attentionCount)
        }
        if plan.keepsAttentionOut && bf16Attention && bf16Layers {
            a.attentionOutBF16 = makeKept(n * c)
        } else if plan.keepsAttentionOut {
            a.attentionOut = makeKept(n * c)
        }
        if plan.keepsMid { a.mid = makeKept(n * c); a.ln2Mean = makeKept(n); a.ln2Rstd = makeKept(n) }
        if plan.keepsLN2Out && bf16Layers {
            a.ln2OutBF16 = makeKept(n * c)
        } else if plan.keepsLN2Out {
            a.ln2Out = makeKept(n * c)
        }
        if plan.keepsFC1Out && bf16Layers {
            a.fc1OutBF16 = makeKept(n * m)
            if trainable.contains(layout.blocks[i].fc2Weight) { a.geluOutBF16 = makeKept(n * m) }
        } else if plan.keepsFC1Out {
            a.fc1Out = makeKept(n * m)
        }
        return a
    }

    /// `count` elements owned by the current plan, counted in `keptFloats` by size (a bf16 value
    /// is half a float).
    private func makeKept<Element>(_ count: Int) -> UnsafeMutablePointer<Element> {
        let p = UnsafeMutablePointer<Element>.allocate(capacity: max(count, 1))
        planOwned.append(UnsafeMutableRawPointer(p))
        keptFloats += (count * MemoryLayout<Element>.stride + 3) / 4
        return p
    }

    deinit {
        for p in owned + planOwned { p.deallocate() }
    }
}
