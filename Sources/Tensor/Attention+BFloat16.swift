extension Attention {
    /// `forward` with bf16 operands rounded once (mixed precision, as PyTorch's CPU autocast):
    /// qkv is rounded in one pass and softmax writes its probabilities in bf16, so no product
    /// rounds a head's operands; each product runs over an image's H heads in one call. Scores,
    /// softmax and every result stay f32.
    ///
    /// Shapes as `forward`: `qkv` (B, T, 3C) f32 in, rounded into `qkvBF16` (B, T, 3C), or nil when
    /// `qkvBF16` already holds it (the qkv product wrote it in bf16); `probabilities` (B, H, T, T)
    /// bf16 out; both bf16 tensors are read by `backwardBF16`; `scores` (B, H, T, T) f32 scratch;
    /// `output` (B, T, C) f32.
    public static func forwardBF16(
        output: UnsafeMutablePointer<Float>, probabilities: UnsafeMutablePointer<UInt16>,
        qkvBF16: UnsafeMutablePointer<UInt16>, scores: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>?,
        batch b: Int, tokens t: Int, heads h: Int, headDim d: Int
    ) {
        let s = Heads(b: b, t: t, h: h, d: d)
        let c = s.c, ld = s.ld, scale = s.scale, tt = t * t
        if let qkv { convert(rows: b * t, columns: ld, from: qkv, to: qkvBF16) }
        func softmaxRows(_ r: Range<Int>) {
            Softmax.forward(scores + r.lowerBound * t, into: probabilities + r.lowerBound * t,
                            rows: r.count, columns: t, stride: t, scale: scale)
        }
        // Per image: head i's q at column i·D of each token row, its k at C + i·D, its v at 2C + i·D.
        s.run(units: b, [
            { image in
                // scores = q · kᵀ (NT), every head.
                let q = UnsafePointer(qkvBF16) + image * t * ld
                GEMM.multiplyBF16(.none, .transposed, m: t, n: t, k: d, a: q, lda: ld, b: q + c, ldb: ld,
                                  c: scores + image * h * tt, ldc: t, batchCount: h, strideA: d, strideB: d, strideC: tt)
            },
            { image in softmaxRows((image * h * t)..<((image + 1) * h * t)) },
            { image in
                // output = P · v (NN), each head into its columns.
                GEMM.multiplyBF16(.none, .none, m: t, n: d, k: t, a: probabilities + image * h * tt, lda: t,
                                  b: qkvBF16 + image * t * ld + 2 * c, ldb: ld, c: output + image * t * c, ldc: c,
                                  batchCount: h, strideA: tt, strideB: d, strideC: d)
            },
        ], rowPhase: 1, rows: softmaxRows)
    }

    /// `backward` on `forwardBF16`'s saved bf16 operands: overwrites `qkvGradient` (B, T, 3C) with
    /// dL/dqkv given `outputGradient` (B, T, C). Scratch: `outputGradientBF16` (B, T, C),
    /// `scoresGradient` (B, H, T, T) f32 (dL/dP) and `scoresGradientBF16` (B, H, T, T) (dL/dscores).
    public static func backwardBF16(
        qkvGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>,
        qkvBF16: UnsafePointer<UInt16>, probabilities: UnsafePointer<UInt16>,
        outputGradientBF16: UnsafeMutablePointer<UInt16>, scoresGradient: UnsafeMutablePointer<Float>,
        scoresGradientBF16: UnsafeMutablePointer<UInt16>,
        batch b: Int, tokens t: Int, heads h: Int, headDim d: Int
    ) {
        let s = Heads(b: b, t: t, h: h, d: d)
        let c = s.c, ld = s.ld, scale = s.scale, tt = t * t
        convert(rows: b * t, columns: c, from: outputGradient, to: outputGradientBF16)
        func softmaxRows(_ r: Range<Int>) {
            let start = r.lowerBound * t
            Softmax.backward(scoresGradient + start, probabilities: probabilities + start, into: scoresGradientBF16 + start,
                             rows: r.count, columns: t, stride: t, scale: scale)
        }
        s.run(units: b, [
            { image in
                let qkv = qkvBF16 + image * t * ld, dqkv = qkvGradient + image * t * ld
                let p = probabilities + image * h * tt, dout = UnsafePointer(outputGradientBF16) + image * t * c
                // dv = Pᵀ · dout (TN); dP = dout · vᵀ (NT); every head.
                GEMM.multiplyBF16(.transposed, .none, m: t, n: d, k: t, a: p, lda: t, b: dout, ldb: c,
                                  c: dqkv + 2 * c, ldc: ld, batchCount: h, strideA: tt, strideB: d, strideC: d)
                GEMM.multiplyBF16(.none, .transposed, m: t, n: t, k: d, a: dout, lda: c, b: qkv + 2 * c, ldb: ld,
                                  c: scoresGradient + image * h * tt, ldc: t, batchCount: h, strideA: d, strideB: d, strideC: tt)
            },
            { image in softmaxRows((image * h * t)..<((image + 1) * h * t)) },
            { image in
                let qkv = qkvBF16 + image * t * ld, dqkv = qkvGradient + image * t * ld
                let ds = UnsafePointer(scoresGradientBF16) + image * h * tt
                // dq = dS · k (NN); dk = dSᵀ · q (TN); every head.
                GEMM.multiplyBF16(.none, .none, m: t, n: d, k: t, a: ds, lda: t, b: qkv + c, ldb: ld,
                                  c: dqkv, ldc: ld, batchCount: h, strideA: tt, strideB: d, strideC: d)
                GEMM.multiplyBF16(.transposed, .none, m: t, n: d, k: t, a: ds, lda: t, b: qkv, ldb: ld,
                                  c: dqkv + c, ldc: ld, batchCount: h, strideA: tt, strideB: d, strideC: d)
            },
        ], rowPhase: 1, rows: softmaxRows)
    }

    /// Rounds a dense (rows, columns) f32 matrix to bf16, rows split across the workers.
    private static func convert(rows: Int, columns: Int, from source: UnsafePointer<Float>,
                                to destination: UnsafeMutablePointer<UInt16>) {
        ParallelRows.forEach(count: rows, minimumChunk: 64) { _, r in
            BFloat16.convert(rows: r.count, columns: columns, from: source + r.lowerBound * columns, stride: columns,
                             to: destination + r.lowerBound * columns)
        }
    }
}
