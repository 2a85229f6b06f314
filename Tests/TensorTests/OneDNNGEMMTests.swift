import Tensor
import Testing

private func values(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
    }
}

/// One product of random operands with padded leading dimensions, in `mode`.
private func product(_ ta: Transpose, _ tb: Transpose, m: Int, n: Int, k: Int, alpha: Float = 1, beta: Float = 0,
                     mode: GEMMMode, a: [Float]? = nil, b: [Float]? = nil) -> [Float] {
    let lda = (ta == .none ? k : m) + 3, ldb = (tb == .none ? n : k) + 1, ldc = n + 2
    let a = a ?? values((ta == .none ? m : k) * lda, seed: 11)
    let b = b ?? values((tb == .none ? k : n) * ldb, seed: 12)
    var c = values(m * ldc, seed: 13)
    c.withUnsafeMutableBufferPointer { cp in
        GEMM.multiply(ta, tb, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta,
                      c: cp.baseAddress!, ldc: ldc, mode: mode)
    }
    return c
}

/// max |x - y| / max(1, |y|).
private func maxRelativeError(_ x: [Float], _ y: [Float]) -> Float {
    zip(x, y).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
}

private let transposes: [(Transpose, Transpose)] = [(.none, .none), (.none, .transposed), (.transposed, .none), (.transposed, .transposed)]

@Suite struct OneDNNGEMMTests {
    /// oneDNN f32 equals OpenBLAS within 1e-5 on the shapes the ViT runs (scaled down), every
    /// transpose, with alpha and beta (the LoRA and accumulating products).
    @Test(arguments: transposes)
    func fp32MatchesOpenBLAS(ta: Transpose, tb: Transpose) {
        for (m, n, k) in [(394, 384, 64), (197, 197, 64), (64, 1536, 384), (7, 5, 11)] {
            let reference = product(ta, tb, m: m, n: n, k: k, alpha: 0.5, beta: 2, mode: .openblasFP32)
            let onednn = product(ta, tb, m: m, n: n, k: k, alpha: 0.5, beta: 2, mode: .onednnFP32)
            #expect(maxRelativeError(onednn, reference) <= 1e-5, "\(m)x\(n)x\(k)")
        }
    }

    /// bf16 operands with f32 accumulation: the exact product of the bf16-rounded operands (computed
    /// by OpenBLAS in f32), and within bf16's rounding of the f32 product.
    @Test(arguments: transposes)
    func bf16IsTheProductOfRoundedOperands(ta: Transpose, tb: Transpose) {
        let (m, n, k) = (96, 80, 384)
        let a = values((ta == .none ? m : k) * ((ta == .none ? k : m) + 3), seed: 21)
        let b = values((tb == .none ? k : n) * ((tb == .none ? n : k) + 1), seed: 22)
        let rounded = { (x: [Float]) in x.map { BFloat16.float(BFloat16.bits($0)) } }
        let bf16 = product(ta, tb, m: m, n: n, k: k, beta: 1, mode: .onednnBF16, a: a, b: b)
        let ofRounded = product(ta, tb, m: m, n: n, k: k, beta: 1, mode: .openblasFP32, a: rounded(a), b: rounded(b))
        let fp32 = product(ta, tb, m: m, n: n, k: k, beta: 1, mode: .openblasFP32, a: a, b: b)
        #expect(maxRelativeError(bf16, ofRounded) <= 1e-5)
        let frobenius = zip(bf16, fp32).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +).squareRoot()
            / fp32.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
        #expect(frobenius > 0 && frobenius < 1e-2, "relative Frobenius error \(frobenius)")
    }

    /// Round to nearest, ties to even, as `torch.Tensor.bfloat16()`.
    @Test func bfloat16Rounding() {
        #expect(BFloat16.bits(1) == 0x3F80)
        #expect(BFloat16.bits(-2) == 0xC000)
        #expect(BFloat16.bits(Float(bitPattern: 0x3F80_8000)) == 0x3F80)  // tie, even stays
        #expect(BFloat16.bits(Float(bitPattern: 0x3F81_8000)) == 0x3F82)  // tie, odd rounds up
        #expect(BFloat16.bits(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(BFloat16.bits(.infinity) == 0x7F80)
        #expect(BFloat16.float(BFloat16.bits(.nan)).isNaN)
        #expect(BFloat16.float(0x4049) == 3.140625)
    }

    /// The bias epilogue (oneDNN) and the bias pass (OpenBLAS) both add the bias row to
    /// `alpha·AB + beta·C`, split across workers or not.
    @Test(arguments: [GEMMMode.openblasFP32, .onednnFP32, .onednnBF16])
    func biasIsAddedToEveryRow(mode: GEMMMode) {
        let (m, n, k) = (70, 24, 40)
        let a = values(m * k, seed: 41), b = values(n * k, seed: 42), bias = values(n, seed: 43), start = values(m * n, seed: 44)
        for (beta, split) in [(Float(0), false), (1, false), (0.5, true), (1, true)] {
            var withBias = start, without = start
            if split { ParallelRows.useOwnThreads(2) }
            withBias.withUnsafeMutableBufferPointer { cp in
                GEMM.multiplySplittingRows(.none, .transposed, m: m, n: n, k: k, alpha: 2, a: a, lda: k, b: b, ldb: k, beta: beta,
                                           c: cp.baseAddress!, ldc: n, bias: bias, mode: mode)
            }
            without.withUnsafeMutableBufferPointer { cp in
                GEMM.multiplySplittingRows(.none, .transposed, m: m, n: n, k: k, alpha: 2, a: a, lda: k, b: b, ldb: k, beta: beta,
                                           c: cp.baseAddress!, ldc: n, mode: mode)
            }
            if split { ParallelRows.useBLASThreads() }
            let expected = without.enumerated().map { $0.element + bias[$0.offset % n] }
            #expect(maxRelativeError(withBias, expected) <= 1e-5, "beta \(beta) split \(split)")
        }
    }

    /// The GELU epilogue (oneDNN's exact erf GELU, or fairtune's after OpenBLAS) equals the
    /// product followed by `GELU.forward`, with the bias, split across workers or not.
    @Test(arguments: [GEMMMode.openblasFP32, .onednnFP32, .onednnBF16])
    func geluEpilogueEqualsAGELUPass(mode: GEMMMode) {
        let (m, n, k) = (70, 24, 40)
        let a = values(m * k, seed: 51), b = values(n * k, seed: 52), bias = values(n, seed: 53)
        for split in [false, true] {
            var fused = [Float](repeating: 0, count: m * n), separate = fused
            if split { ParallelRows.useOwnThreads(2) }
            fused.withUnsafeMutableBufferPointer { cp in
                GEMM.multiplySplittingRows(.none, .transposed, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k,
                                           c: cp.baseAddress!, ldc: n, bias: bias, gelu: true, mode: mode)
            }
            separate.withUnsafeMutableBufferPointer { cp in
                GEMM.multiplySplittingRows(.none, .transposed, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k,
                                           c: cp.baseAddress!, ldc: n, bias: bias, mode: mode)
                GELU.forward(output: cp.baseAddress!, input: cp.baseAddress!, count: m * n)
            }
            if split { ParallelRows.useBLASThreads() }
            #expect(maxRelativeError(fused, separate) <= 2e-6, "split \(split)")
        }
    }

    /// Workers splitting the rows run cached primitives concurrently: the same result as one call.
    @Test func splitAcrossWorkersEqualsOneCall() {
        let (m, n, k) = (300, 128, 96)
        let a = values(m * k, seed: 31), b = values(n * k, seed: 32)
        func run(split: Bool, mode: GEMMMode) -> [Float] {
            var c = [Float](repeating: 0, count: m * n)
            if split { ParallelRows.useOwnThreads(2) }
            defer { if split { ParallelRows.useBLASThreads() } }
            c.withUnsafeMutableBufferPointer { cp in
                GEMM.multiplySplittingRows(.none, .transposed, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k,
                                           c: cp.baseAddress!, ldc: n, mode: mode)
            }
            return c
        }
        for mode in [GEMMMode.onednnFP32, .onednnBF16] {
            #expect(maxRelativeError(run(split: true, mode: mode), run(split: false, mode: mode)) <= 1e-5, "\(mode)")
        }
    }

    /// A bf16 destination (the next product's operand, rounded in the epilogue) holds the f32
    /// result rounded to bf16, with bias and GELU, rows split across workers or not.
    @Test(.enabled(if: GEMMSelection.onednnBF16Kernel != nil, "oneDNN has no bf16 matrix product on this CPU"),
          arguments: [false, true])
    func bf16DestinationIsTheRoundedResult(split: Bool) {
        let (m, n, k) = (70, 48, 40)
        let a = values(m * k, seed: 41).map(BFloat16.bits), b = values(n * k, seed: 42).map(BFloat16.bits)
        let bias = values(n, seed: 43)
        if split { ParallelRows.useOwnThreads(2) }
        defer { if split { ParallelRows.useBLASThreads() } }
        for gelu in [false, true] {
            var c32 = [Float](repeating: 0, count: m * n), c16 = [UInt16](repeating: 0, count: m * n)
            GEMM.multiplySplittingRows(.none, .transposed, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k,
                                       c: &c32, ldc: n, bias: bias, gelu: gelu)
            GEMM.multiplySplittingRows(.none, .transposed, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k,
                                       c: &c16, ldc: n, bias: bias, gelu: gelu)
            let worst = zip(c16, c32).map { abs(BFloat16.float($0) - $1) / max(abs($1), 1e-3) }.max() ?? 0
            #expect(worst <= 1.0 / 256, "gelu \(gelu)")
        }
    }

    /// A residual added in the epilogue equals the product with bias, then the residual added in
    /// f32 afterwards, rows split across workers or not (each slice reads its own residual rows).
    @Test(.enabled(if: GEMMSelection.onednnBF16Kernel != nil, "oneDNN has no bf16 matrix product on this CPU"),
          arguments: [false, true])
    func residualEpilogueAddsTheMatrix(split: Bool) {
        let (m, n, k) = (70, 48, 40)
        let a = values(m * k, seed: 51).map(BFloat16.bits), b = values(n * k, seed: 52).map(BFloat16.bits)
        let bias = values(n, seed: 53), residual = values(m * n, seed: 54)
        if split { ParallelRows.useOwnThreads(2) }
        defer { if split { ParallelRows.useBLASThreads() } }
        var product = [Float](repeating: 0, count: m * n), fused = product
        GEMM.multiplySplittingRows(.none, .transposed, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k,
                                   c: &product, ldc: n, bias: bias)
        GEMM.multiplySplittingRows(.none, .transposed, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k,
                                   c: &fused, ldc: n, bias: bias, residual: residual)
        #expect(maxRelativeError(fused, zip(product, residual).map { $0 + $1 }) <= 1e-6)
    }

    /// The same for f32 operands in every f32 mode and the bf16 mode on f32 inputs: oneDNN adds the
    /// residual in its epilogue, OpenBLAS copies it into C first; C's rows may be wider than n.
    @Test(arguments: [(GEMMMode.openblasFP32, false), (.openblasFP32, true), (.onednnFP32, false), (.onednnFP32, true),
                      (.onednnBF16, true)])
    func residualOnFloat32Operands(mode: GEMMMode, split: Bool) {
        if mode == .onednnBF16 && GEMMSelection.onednnBF16Kernel == nil { return }
        let (m, n, k, ldc) = (70, 48, 40, 51)
        let a = values(m * k, seed: 61), b = values(n * k, seed: 62)
        let bias = values(n, seed: 63), residual = values(m * ldc, seed: 64)
        if split { ParallelRows.useOwnThreads(2) }
        defer { if split { ParallelRows.useBLASThreads() } }
        var product = [Float](repeating: 7, count: m * ldc), fused = product
        GEMM.multiplySplittingRows(.none, .transposed, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k,
                                   c: &product, ldc: ldc, bias: bias, mode: mode)
        GEMM.multiplySplittingRows(.none, .transposed, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k,
                                   c: &fused, ldc: ldc, bias: bias, residual: residual, mode: mode)
        var expected = product
        for r in 0..<m { for j in 0..<n { expected[r * ldc + j] += residual[r * ldc + j] } }
        #expect(maxRelativeError(fused, expected) <= 1e-6, "\(mode), split \(split)")
        // Columns past n stay as they were.
        #expect((0..<m).allSatisfy { r in (n..<ldc).allSatisfy { fused[r * ldc + $0] == 7 } })
    }
}
