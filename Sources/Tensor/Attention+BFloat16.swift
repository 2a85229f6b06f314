extension Attention {
    /// `forward` with bf16 operands rounded once (mixed precision, as PyTorch's CPU autocast):
    /// qkv is rounded in one pass, the scores product applies 1/√D as its alpha, and oneDNN's
    /// softmax (f32 in, bf16 out) writes the probabilities, so no product rounds a head's
    /// operands; each product and the softmax run over an image's H heads in one call. Scores
    /// and the softmax's arithmetic stay f32.
    ///
    /// Shapes as `forward`: `qkv` (B, T, 3C) f32 in, rounded into `qkvBF16` (B, T, 3C), or nil when
    /// `qkvBF16` already holds it (the qkv product wrote it in bf16); `probabilities` (B, H, T, T)
    /// bf16 out; both bf16 tensors are read by `backwardBF16`; `scores` (B, H, T, T) f32 scratch;
    /// `output` (B, T, C) f32 or bf16.
    public static func forwardBF16(
        output: Destination, probabilities: UnsafeMutablePointer<UInt16>,
        qkvBF16: UnsafeMutablePointer<UInt16>, scores: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>?,
        batch b: Int, tokens t: Int, heads h: Int, headDim d: Int
    ) {
        let clock = KernelProfile.begin()
        defer {
            KernelProfile.endAttention(clock, "attention forward, bf16",
                                       batch: b, heads: h, queries: t, tokens: t, headDim: d, products: 2)
        }
        let s = Heads(b: b, t: t, h: h, d: d)
        let c = s.c, ld = s.ld, tt = t * t
        if let qkv { GEMM.roundToBFloat16(rows: b * t, columns: ld, from: qkv, stride: ld, to: qkvBF16) }
        func softmaxRows(_ r: Range<Int>) {
            OneDNNKernels.softmaxForward(rows: r.count, columns: t, scores: scores + r.lowerBound * t,
                                         probabilities: probabilities + r.lowerBound * t)
        }
        // Per image: head i's q at column i·D of each token row, its k at C + i·D, its v at 2C + i·D.
        s.run(units: b, [
            { image in
                // scores = q · kᵀ / √D (NT), every head.
                let q = UnsafePointer(qkvBF16) + image * t * ld
                GEMM.multiplyBF16(.none, .transposed, m: t, n: t, k: d, alpha: s.scale, a: q, lda: ld, b: q + c, ldb: ld,
                                  c: scores + image * h * tt, ldc: t, batchCount: h, strideA: d, strideB: d, strideC: tt)
            },
            { image in softmaxRows((image * h * t)..<((image + 1) * h * t)) },
            { image in
                // output = P · v (NN), each head into its columns.
                let p = UnsafePointer(probabilities) + image * h * tt, v = UnsafePointer(qkvBF16) + image * t * ld + 2 * c
                perHead(.none, .none, m: t, n: d, k: t, a: p, lda: t, strideA: tt, b: v, ldb: ld, strideB: d,
                        into: output, offset: image * t * c, ldc: c, heads: h)
            },
        ], rowPhase: 1, rows: softmaxRows)
    }

    /// `backward` on `forwardBF16`'s saved bf16 operands: overwrites `qkvGradient` (B, T, 3C), f32 or
    /// bf16, with dL/dqkv given `outputGradient` (B, T, C), rounded into `outputGradientBF16`, or nil
    /// when `outputGradientBF16` already holds it (proj's backward wrote it in bf16). dL/dP is written
    /// in bf16 by its product into `scoresGradientBF16` (B, H, T, T), where oneDNN's softmax backward
    /// turns it into dL/dscores in place; the dq and dk products apply 1/√D as their alpha.
    public static func backwardBF16(
        qkvGradient: Destination, outputGradient: UnsafePointer<Float>?,
        qkvBF16: UnsafePointer<UInt16>, probabilities: UnsafePointer<UInt16>,
        outputGradientBF16: UnsafeMutablePointer<UInt16>, scoresGradientBF16: UnsafeMutablePointer<UInt16>,
        batch b: Int, tokens t: Int, heads h: Int, headDim d: Int
    ) {
        let clock = KernelProfile.begin()
        defer {
            KernelProfile.endAttention(clock, "attention backward, bf16",
                                       batch: b, heads: h, queries: t, tokens: t, headDim: d, products: 4)
        }
        let s = Heads(b: b, t: t, h: h, d: d)
        let c = s.c, ld = s.ld, scale = s.scale, tt = t * t
        if let outputGradient {
            GEMM.roundToBFloat16(rows: b * t, columns: c, from: outputGradient, stride: c, to: outputGradientBF16)
        }
        func softmaxRows(_ r: Range<Int>) {
            let start = r.lowerBound * t
            OneDNNKernels.softmaxBackward(rows: r.count, columns: t, probabilities: probabilities + start,
                                          probabilitiesGradient: scoresGradientBF16 + start,
                                          scoresGradient: scoresGradientBF16 + start)
        }
        s.run(units: b, [
            { image in
                let qkv = qkvBF16 + image * t * ld, dqkv = image * t * ld
                let p = probabilities + image * h * tt, dout = UnsafePointer(outputGradientBF16) + image * t * c
                // dv = Pᵀ · dout (TN); dP = dout · vᵀ (NT, bf16 out); every head.
                perHead(.transposed, .none, m: t, n: d, k: t, a: p, lda: t, strideA: tt, b: dout, ldb: c, strideB: d,
                        into: qkvGradient, offset: dqkv + 2 * c, ldc: ld, heads: h)
                GEMM.multiplyBF16(.none, .transposed, m: t, n: t, k: d, a: dout, lda: c, b: qkv + 2 * c, ldb: ld,
                                  c: scoresGradientBF16 + image * h * tt, ldc: t, batchCount: h, strideA: d, strideB: d,
                                  strideC: tt)
            },
            { image in softmaxRows((image * h * t)..<((image + 1) * h * t)) },
            { image in
                let qkv = qkvBF16 + image * t * ld, dqkv = image * t * ld
                let ds = UnsafePointer(scoresGradientBF16) + image * h * tt
                // dq = dS · k / √D (NN); dk = dSᵀ · q / √D (TN); every head.
                perHead(.none, .none, m: t, n: d, k: t, alpha: scale, a: ds, lda: t, strideA: tt, b: qkv + c, ldb: ld,
                        strideB: d, into: qkvGradient, offset: dqkv, ldc: ld, heads: h)
                perHead(.transposed, .none, m: t, n: d, k: t, alpha: scale, a: ds, lda: t, strideA: tt, b: qkv, ldb: ld,
                        strideB: d, into: qkvGradient, offset: dqkv + c, ldc: ld, heads: h)
            },
        ], rowPhase: 1, rows: softmaxRows)
    }

    /// One bf16 product per head (`heads` of them, operand i `i · stride` after its base; head i's
    /// result at columns i·n of `destination` + `offset`, rows `ldc` apart), written in f32 or bf16.
    private static func perHead(_ ta: Transpose, _ tb: Transpose, m: Int, n: Int, k: Int, alpha: Float = 1,
                                a: UnsafePointer<UInt16>, lda: Int, strideA: Int, b: UnsafePointer<UInt16>, ldb: Int,
                                strideB: Int, into destination: Destination, offset: Int, ldc: Int, heads: Int) {
        switch destination {
        case .float32(let c):
            GEMM.multiplyBF16(ta, tb, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, c: c + offset,
                              ldc: ldc, batchCount: heads, strideA: strideA, strideB: strideB, strideC: n)
        case .bfloat16(let c):
            GEMM.multiplyBF16(ta, tb, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, c: c + offset,
                              ldc: ldc, batchCount: heads, strideA: strideA, strideB: strideB, strideC: n)
        }
    }
}
