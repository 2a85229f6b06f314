extension GEMM {
    /// `multiply`, with the m rows of C split across `ParallelRows` workers when they own the
    /// cores (`ParallelRows.useOwnThreads`); otherwise one call, threaded inside OpenBLAS.
    ///
    /// Each chunk is an independent product on disjoint rows of C: A's rows (or, transposed, its
    /// columns) and the residual's rows move with them, B is shared.
    public static func multiplySplittingRows(
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
        precondition(residual == nil || (beta == 0 && !gelu), "a residual takes beta 0 and no GELU")
        if mode == .onednnBF16 && m > 0 && n > 0 && k > 0 && (bias == nil || alpha == 1)
            && multiplySplittingRowsBF16(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                                         beta: beta, c: c, ldc: ldc, bias: bias, gelu: gelu, residual: residual) {
            return
        }
        guard ParallelRows.splitsMatrixProducts else {
            if mode.backend == .openblas || (bias != nil && alpha != 1) {
                // OpenBLAS threads the product but not the bias/residual and GELU passes: split those across the workers.
                let prepared = bias != nil || residual != nil
                if prepared {
                    ParallelRows.forEach(count: m, minimumChunk: 64) { _, rows in
                        prepareAccumulation(bias: bias, residual: residual, rows: rows, n: n, beta: beta, c: c, ldc: ldc)
                    }
                }
                multiply(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: prepared ? 1 : beta,
                         c: c, ldc: ldc, mode: mode)
                if gelu { ParallelRows.forEach(count: m, minimumChunk: 16) { _, rows in applyGELU(rows: rows, n: n, c: c, ldc: ldc) } }
                return
            }
            multiply(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
                     bias: bias, gelu: gelu, residual: residual, mode: mode)
            return
        }
        ParallelRows.forEach(count: m, minimumChunk: 16) { _, rows in
            let aStart = transA == .none ? a + rows.lowerBound * lda : a + rows.lowerBound
            multiply(transA, transB, m: rows.count, n: n, k: k, alpha: alpha, a: aStart, lda: lda, b: b, ldb: ldb,
                     beta: beta, c: c + rows.lowerBound * ldc, ldc: ldc, bias: bias, gelu: gelu,
                     residual: residual.map { $0 + rows.lowerBound * ldc }, mode: mode)
        }
    }
}
