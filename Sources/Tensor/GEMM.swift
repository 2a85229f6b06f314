import COpenBLAS

/// Whether a GEMM operand is read as stored or transposed.
public enum Transpose: Sendable {
    case none
    case transposed
}

/// The one matrix-product interface of fairtune: row-major, f32 in and out.
///
/// Every matrix product of the model (patch embedding, qkv, projection, MLP, head and their
/// backward) goes through here; each call names its `GEMMMode` (library and operand precision,
/// OpenBLAS f32 by default). CBLAS and oneDNN types stay behind this interface.
public enum GEMM {
    /// `C = alpha * op(A) * op(B) + beta * C`, all matrices row-major.
    ///
    /// - Parameters:
    ///   - transA: `.none` reads A as (m, k) with leading dimension `lda`; `.transposed` reads
    ///     A as stored (k, m) and uses its transpose.
    ///   - transB: `.none` reads B as (k, n); `.transposed` reads B stored as (n, k).
    ///   - c: (m, n) with leading dimension `ldc`.
    ///   - bias: n values added to every row of C (`C = alpha·op(A)·op(B) + bias + beta·C`); oneDNN
    ///     adds it in the product's epilogue, OpenBLAS in a pass over C before the product.
    ///   - gelu: apply the exact GELU to the result, `C = GELU(...)` (oneDNN: in the epilogue).
    ///   - residual: an (m, n) matrix with C's leading dimension added to the result (a residual
    ///     connection; beta 0, no GELU): oneDNN adds it in the epilogue, OpenBLAS writes R + bias into
    ///     C in the bias's pass and accumulates. R may not overlap C.
    ///   - mode: the library and operand precision that run the product.
    /// - Precondition: leading dimensions are at least the stored row widths.
    /// - Complexity: 2·m·n·k floating-point operations.
    public static func multiply(
        _ transA: Transpose, _ transB: Transpose,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        bias: UnsafePointer<Float>? = nil, gelu: Bool = false, residual: UnsafePointer<Float>? = nil,
        mode: GEMMMode = .openblasFP32
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "GEMM sizes must be non-negative: m=\(m) n=\(n) k=\(k)")
        precondition(residual == nil || (beta == 0 && !gelu), "a residual takes beta 0 and no GELU")
        precondition(lda >= (transA == .none ? k : m) && ldb >= (transB == .none ? n : k) && ldc >= n,
                     "GEMM leading dimensions too small: lda=\(lda) ldb=\(ldb) ldc=\(ldc) for m=\(m) n=\(n) k=\(k)")
        if m == 0 || n == 0 { return }
        if residual != nil, mode.backend == .openblas || k == 0 || (bias != nil && alpha != 1) {
            prepareAccumulation(bias: bias, residual: residual, rows: 0..<m, n: n, beta: beta, c: c, ldc: ldc)
            return multiply(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: 1,
                            c: c, ldc: ldc, mode: mode)
        }
        if mode.backend == .onednn && k > 0 {
            // oneDNN's output scale (alpha) would scale its bias too: then add the bias in a pass.
            var beta = beta, bias = bias
            if let row = bias, alpha != 1 {
                prepareAccumulation(bias: row, residual: nil, rows: 0..<m, n: n, beta: beta, c: c, ldc: ldc)
                (beta, bias) = (1, nil)
            }
            // oneDNN runs on as many OpenMP threads as OpenBLAS would (1 when fairtune's workers split).
            let shape = OneDNNGEMM.Shape(transA: transA == .transposed, transB: transB == .transposed, m: m, n: n, k: k,
                                         lda: lda, ldb: ldb, ldc: ldc, alpha: alpha, beta: beta,
                                         bf16: mode.precision == .bf16, threads: BLASRuntime.threads, bias: bias != nil, gelu: gelu,
                                         residual: residual != nil)
            OneDNNGEMM.multiply(shape, a: a, b: b, c: c, bias: bias, residual: residual)
            return
        }
        if bias != nil { prepareAccumulation(bias: bias, residual: nil, rows: 0..<m, n: n, beta: beta, c: c, ldc: ldc) }
        cblas_sgemm(CblasRowMajor,
                    transA == .none ? CblasNoTrans : CblasTrans,
                    transB == .none ? CblasNoTrans : CblasTrans,
                    blasint(m), blasint(n), blasint(k), alpha,
                    a, blasint(lda), b, blasint(ldb), bias == nil ? beta : 1, c, blasint(ldc))
        if gelu { applyGELU(rows: 0..<m, n: n, c: c, ldc: ldc) }
    }

    /// `C[rows] = GELU(C[rows])` on the calling thread.
    static func applyGELU(rows: Range<Int>, n: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if ldc == n {
            GELU.forwardOnThisThread(output: c + rows.lowerBound * n, input: c + rows.lowerBound * n, count: rows.count * n)
        } else {
            for r in rows { GELU.forwardOnThisThread(output: c + r * ldc, input: c + r * ldc, count: n) }
        }
    }

    /// `C[rows] = R[rows] + bias` with a residual R (rows `ldc` apart, as C's; beta is then 0), else
    /// `C[rows] = beta·C[rows] + bias`: the one pass before a product that then accumulates (beta 1),
    /// where the library has no epilogue for the bias or the residual.
    static func prepareAccumulation(bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?, rows: Range<Int>, n: Int,
                                    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        for r in rows {
            let y = c + r * ldc
            if let residual {
                let x = residual + r * ldc
                if let bias { for j in 0..<n { y[j] = x[j] + bias[j] } } else { y.update(from: x, count: n) }
            } else if let bias {
                if beta == 0 {
                    y.update(from: bias, count: n)
                } else if beta == 1 {
                    for j in 0..<n { y[j] += bias[j] }
                } else {
                    for j in 0..<n { y[j] = beta * y[j] + bias[j] }
                }
            }
        }
    }

    /// `batchCount` independent products `C_i = alpha * op(A_i) * op(B_i) + beta * C_i`, where
    /// operand i starts `i * stride` elements after the base pointer (attention over batch × heads).
    ///
    /// - Complexity: 2·m·n·k·batchCount floating-point operations.
    public static func multiplyBatched(
        _ transA: Transpose, _ transB: Transpose,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, strideA: Int,
        b: UnsafePointer<Float>, ldb: Int, strideB: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int,
        batchCount: Int, mode: GEMMMode = .openblasFP32
    ) {
        for i in 0..<batchCount {
            multiply(transA, transB, m: m, n: n, k: k, alpha: alpha,
                     a: a + i * strideA, lda: lda, b: b + i * strideB, ldb: ldb,
                     beta: beta, c: c + i * strideC, ldc: ldc, mode: mode)
        }
    }
}
