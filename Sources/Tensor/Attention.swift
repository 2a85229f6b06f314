/// Multi-head scaled dot-product self-attention over a fused qkv projection, as timm's
/// `Attention` (no mask, no dropout): `softmax(q kᵀ / √D) v` per head.
///
/// Letters: B batch, T tokens, H heads, D head width, C = H·D.
/// `qkv` (B, T, 3C): each token row holds q, k and v, each C wide, head h at columns h·D..<(h+1)·D
/// (timm's `reshape(B, T, 3, H, D)`), so every head is a strided matrix and no permute is needed.
/// `probabilities` (B, H, T, T); `output` (B, T, C) with heads concatenated.
public enum Attention {
    /// Fills `probabilities` and `output`.
    public static func forward(
        output: UnsafeMutablePointer<Float>, probabilities: UnsafeMutablePointer<Float>,
        qkv: UnsafePointer<Float>, batch b: Int, tokens t: Int, heads h: Int, headDim d: Int
    ) {
        let c = h * d, ld = 3 * c
        let scale = 1 / Float(d).squareRoot()
        // scores = q · kᵀ (NT), one (T, T) product per (batch, head).
        for bh in 0..<(b * h) {
            let q = qkv + (bh / h) * t * ld + (bh % h) * d
            GEMM.multiply(.none, .transposed, m: t, n: t, k: d, a: q, lda: ld, b: q + c, ldb: ld,
                          c: probabilities + bh * t * t, ldc: t)
        }
        ParallelRows.forEach(count: b * h * t, minimumChunk: 32) { _, rows in
            Softmax.forwardInPlace(probabilities + rows.lowerBound * t, rows: rows.count, columns: t,
                                   stride: t, scale: scale)
        }
        // output = P · v (NN), written into the head's columns.
        for bh in 0..<(b * h) {
            let q = qkv + (bh / h) * t * ld + (bh % h) * d
            GEMM.multiply(.none, .none, m: t, n: d, k: t, a: probabilities + bh * t * t, lda: t,
                          b: q + 2 * c, ldb: ld, c: output + (bh / h) * t * c + (bh % h) * d, ldc: c)
        }
    }

    /// Overwrites `qkvGradient` (B, T, 3C) with dL/dqkv given `outputGradient` (B, T, C).
    /// `scratch` (B, H, T, T) receives dL/dscores; `probabilities` is read only.
    public static func backward(
        qkvGradient: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
        outputGradient: UnsafePointer<Float>, qkv: UnsafePointer<Float>, probabilities: UnsafePointer<Float>,
        batch b: Int, tokens t: Int, heads h: Int, headDim d: Int
    ) {
        let c = h * d, ld = 3 * c
        let scale = 1 / Float(d).squareRoot()
        for bh in 0..<(b * h) {
            let offset = (bh / h) * t * ld + (bh % h) * d
            let v = qkv + offset + 2 * c
            let dout = outputGradient + (bh / h) * t * c + (bh % h) * d
            let p = probabilities + bh * t * t
            // dv = Pᵀ · dout (TN); dP = dout · vᵀ (NT).
            GEMM.multiply(.transposed, .none, m: t, n: d, k: t, a: p, lda: t, b: dout, ldb: c,
                          c: qkvGradient + offset + 2 * c, ldc: ld)
            GEMM.multiply(.none, .transposed, m: t, n: t, k: d, a: dout, lda: c, b: v, ldb: ld,
                          c: scratch + bh * t * t, ldc: t)
        }
        ParallelRows.forEach(count: b * h * t, minimumChunk: 32) { _, rows in
            Softmax.backwardInPlace(scratch + rows.lowerBound * t, probabilities: probabilities + rows.lowerBound * t,
                                    rows: rows.count, columns: t, stride: t, scale: scale)
        }
        for bh in 0..<(b * h) {
            let offset = (bh / h) * t * ld + (bh % h) * d
            let q = qkv + offset
            let ds = scratch + bh * t * t
            // dq = dS · k (NN); dk = dSᵀ · q (TN).
            GEMM.multiply(.none, .none, m: t, n: d, k: t, a: ds, lda: t, b: q + c, ldb: ld,
                          c: qkvGradient + offset, ldc: ld)
            GEMM.multiply(.transposed, .none, m: t, n: d, k: t, a: ds, lda: t, b: q, ldb: ld,
                          c: qkvGradient + offset + c, ldc: ld)
        }
    }
}
