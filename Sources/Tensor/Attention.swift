/// Multi-head scaled dot-product self-attention over a fused qkv projection, as timm's
/// `Attention` (no mask, no dropout): `softmax(q kᵀ / √D) v` per head.
///
/// Letters: B batch, T tokens, H heads, D head width, C = H·D.
/// `qkv` (B, T, 3C): each token row holds q, k and v, each C wide, head h at columns h·D..<(h+1)·D
/// (timm's `reshape(B, T, 3, H, D)`), so every head is a strided matrix and no permute is needed.
/// `probabilities` (B, H, T, T); `output` (B, T, C) with heads concatenated.
///
/// `mode` runs the per-head products (the attention shape class).
///
/// Two schedules with the same arithmetic: by default each phase (scores, softmax, values) runs
/// over all heads, the products threaded inside OpenBLAS; when `ParallelRows` owns the cores, each
/// worker takes whole heads and runs their phases back to back while the head's T×T tile is in cache.
public enum Attention {
    /// The shapes of one call and where head `bh` (= batch·H + head) lives in each buffer.
    struct Heads {
        let b, t, h, d: Int
        var c: Int { h * d }
        var ld: Int { 3 * h * d }
        var scale: Float { 1 / Float(d).squareRoot() }
        /// Offset of head bh's q in qkv (k at +C, v at +2C).
        func qkvOffset(_ bh: Int) -> Int { (bh / h) * t * ld + (bh % h) * d }
        /// Offset of head bh's columns in an output-shaped (B, T, C) buffer.
        func outputOffset(_ bh: Int) -> Int { (bh / h) * t * c + (bh % h) * d }

        /// Runs `phases` over `units` (heads, or images of H heads each): per unit on the workers
        /// when they own the cores, else each phase over all units in turn (`rowPhase` marks the
        /// softmax phase, then split by rows).
        func run(units: Int, _ phases: [(_ unit: Int) -> Void], rowPhase: Int, rows: (Range<Int>) -> Void) {
            if ParallelRows.splitsMatrixProducts {
                ParallelRows.forEach(count: units) { _, chunk in
                    for unit in chunk { for phase in phases { phase(unit) } }
                }
                return
            }
            for (i, phase) in phases.enumerated() {
                if i == rowPhase {
                    ParallelRows.forEach(count: b * h * t, minimumChunk: 32) { _, r in rows(r) }
                } else {
                    for unit in 0..<units { phase(unit) }
                }
            }
        }
    }

    /// Fills `probabilities` and `output`.
    public static func forward(
        output: UnsafeMutablePointer<Float>, probabilities: UnsafeMutablePointer<Float>,
        qkv: UnsafePointer<Float>, batch b: Int, tokens t: Int, heads h: Int, headDim d: Int,
        mode: GEMMMode = .openblasFP32
    ) {
        let clock = KernelProfile.begin()
        defer {
            KernelProfile.endAttention(clock, "attention forward, \(mode)",
                                       batch: b, heads: h, queries: t, tokens: t, headDim: d, products: 2)
        }
        let s = Heads(b: b, t: t, h: h, d: d)
        let c = s.c, ld = s.ld, scale = s.scale
        func softmaxRows(_ r: Range<Int>) {
            Softmax.forwardInPlace(probabilities + r.lowerBound * t, rows: r.count, columns: t, stride: t, scale: scale)
        }
        s.run(units: b * h, [
            { bh in
                // scores = q · kᵀ (NT).
                let q = qkv + s.qkvOffset(bh)
                GEMM.multiply(.none, .transposed, m: t, n: t, k: d, a: q, lda: ld, b: q + c, ldb: ld,
                              c: probabilities + bh * t * t, ldc: t, mode: mode)
            },
            { bh in softmaxRows((bh * t)..<((bh + 1) * t)) },
            { bh in
                // output = P · v (NN), into the head's columns.
                GEMM.multiply(.none, .none, m: t, n: d, k: t, a: probabilities + bh * t * t, lda: t,
                              b: qkv + s.qkvOffset(bh) + 2 * c, ldb: ld, c: output + s.outputOffset(bh), ldc: c, mode: mode)
            },
        ], rowPhase: 1, rows: softmaxRows)
    }

    /// Overwrites `qkvGradient` (B, T, 3C) with dL/dqkv given `outputGradient` (B, T, C).
    /// `scratch` (B, H, T, T) receives dL/dscores; `probabilities` is read only.
    public static func backward(
        qkvGradient: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
        outputGradient: UnsafePointer<Float>, qkv: UnsafePointer<Float>, probabilities: UnsafePointer<Float>,
        batch b: Int, tokens t: Int, heads h: Int, headDim d: Int, mode: GEMMMode = .openblasFP32
    ) {
        let clock = KernelProfile.begin()
        defer {
            KernelProfile.endAttention(clock, "attention backward, \(mode)",
                                       batch: b, heads: h, queries: t, tokens: t, headDim: d, products: 4)
        }
        let s = Heads(b: b, t: t, h: h, d: d)
        let c = s.c, ld = s.ld, scale = s.scale
        func softmaxRows(_ r: Range<Int>) {
            Softmax.backwardInPlace(scratch + r.lowerBound * t, probabilities: probabilities + r.lowerBound * t,
                                    rows: r.count, columns: t, stride: t, scale: scale)
        }
        s.run(units: b * h, [
            { bh in
                let offset = s.qkvOffset(bh)
                let dout = outputGradient + s.outputOffset(bh)
                // dv = Pᵀ · dout (TN); dP = dout · vᵀ (NT).
                GEMM.multiply(.transposed, .none, m: t, n: d, k: t, a: probabilities + bh * t * t, lda: t, b: dout, ldb: c,
                              c: qkvGradient + offset + 2 * c, ldc: ld, mode: mode)
                GEMM.multiply(.none, .transposed, m: t, n: t, k: d, a: dout, lda: c, b: qkv + offset + 2 * c, ldb: ld,
                              c: scratch + bh * t * t, ldc: t, mode: mode)
            },
            { bh in softmaxRows((bh * t)..<((bh + 1) * t)) },
            { bh in
                let offset = s.qkvOffset(bh)
                let ds = scratch + bh * t * t
                // dq = dS · k (NN); dk = dSᵀ · q (TN).
                GEMM.multiply(.none, .none, m: t, n: d, k: t, a: ds, lda: t, b: qkv + offset + c, ldb: ld,
                              c: qkvGradient + offset, ldc: ld, mode: mode)
                GEMM.multiply(.transposed, .none, m: t, n: d, k: t, a: ds, lda: t, b: qkv + offset, ldb: ld,
                              c: qkvGradient + offset + c, ldc: ld, mode: mode)
            },
        ], rowPhase: 1, rows: softmaxRows)
    }
}
