import COpenBLAS

/// Whether a GEMM operand is read as stored or transposed.
public enum Transpose: Sendable {
    case none
    case transposed
}

/// The one matrix-product interface of fairtune: row-major, f32 in and out.
///
/// Every matrix product of the model (patch embedding, qkv, projection, MLP, head and their
/// backward) goes through here, so a second backend needs to change only this file. CBLAS types
/// stay behind this interface.
public enum GEMM {
    /// `C = alpha * op(A) * op(B) + beta * C`, all matrices row-major.
    ///
    /// - Parameters:
    ///   - transA: `.none` reads A as (m, k) with leading dimension `lda`; `.transposed` reads
    ///     A as stored (k, m) and uses its transpose.
    ///   - transB: `.none` reads B as (k, n); `.transposed` reads B stored as (n, k).
    ///   - c: (m, n) with leading dimension `ldc`.
    ///   - splittingRows: split the m rows of C across `ParallelRows` workers when they own the
    ///     cores (`ParallelRows.useOwnThreads`); otherwise (and by default) one call, threaded
    ///     inside OpenBLAS. Each chunk is an independent product on disjoint rows of C: A's rows
    ///     (or, transposed, its columns) move with them, B is shared.
    /// - Precondition: leading dimensions are at least the stored row widths.
    /// - Complexity: 2·m·n·k floating-point operations.
    @inlinable
    public static func multiply(
        _ transA: Transpose, _ transB: Transpose,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        splittingRows: Bool = false
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "GEMM sizes must be non-negative: m=\(m) n=\(n) k=\(k)")
        precondition(lda >= (transA == .none ? k : m) && ldb >= (transB == .none ? n : k) && ldc >= n,
                     "GEMM leading dimensions too small: lda=\(lda) ldb=\(ldb) ldc=\(ldc) for m=\(m) n=\(n) k=\(k)")
        if m == 0 || n == 0 { return }
        if splittingRows && ParallelRows.splitsMatrixProducts {
            ParallelRows.forEach(count: m, minimumChunk: 16) { _, rows in
                let aStart = transA == .none ? a + rows.lowerBound * lda : a + rows.lowerBound
                multiply(transA, transB, m: rows.count, n: n, k: k, alpha: alpha, a: aStart, lda: lda, b: b, ldb: ldb,
                         beta: beta, c: c + rows.lowerBound * ldc, ldc: ldc)
            }
            return
        }
        cblas_sgemm(CblasRowMajor,
                    transA == .none ? CblasNoTrans : CblasTrans,
                    transB == .none ? CblasNoTrans : CblasTrans,
                    blasint(m), blasint(n), blasint(k), alpha,
                    a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// `batchCount` independent products `C_i = alpha * op(A_i) * op(B_i) + beta * C_i`, where
    /// operand i starts `i * stride` elements after the base pointer (attention over batch × heads).
    ///
    /// - Complexity: 2·m·n·k·batchCount floating-point operations.
    @inlinable
    public static func multiplyBatched(
        _ transA: Transpose, _ transB: Transpose,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, strideA: Int,
        b: UnsafePointer<Float>, ldb: Int, strideB: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int,
        batchCount: Int
    ) {
        for i in 0..<batchCount {
            multiply(transA, transB, m: m, n: n, k: k, alpha: alpha,
                     a: a + i * strideA, lda: lda, b: b + i * strideB, ldb: ldb,
                     beta: beta, c: c + i * strideC, ldc: ldc)
        }
    }
}
