import Foundation

extension GEMM {
    /// bf16 copies of a split product's operands, shared by the workers: each operand is rounded
    /// once, in parallel, rather than once per worker (a weight gradient's B is the whole input).
    nonisolated(unsafe) private static var sharedA = GrowingBuffer<UInt16>(), sharedB = GrowingBuffer<UInt16>()
    private static let sharedLock = NSLock()

    /// `multiplySplittingRows` with bf16 operands on oneDNN: both operands converted once across the
    /// workers, then the rows of C split as for f32 (or, when OpenMP threads the products, one
    /// call). Returns false (nothing done) when another
    /// thread holds the shared copies; the caller then converts per worker.
    static func multiplySplittingRowsBF16(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>?, gelu: Bool,
        residual: UnsafePointer<Float>?
    ) -> Bool {
        guard sharedLock.try() else { return false }
        defer { sharedLock.unlock() }
        let aRows = transA == .none ? m : k, aColumns = transA == .none ? k : m
        let bRows = transB == .none ? k : n, bColumns = transB == .none ? n : k
        let aCopy = sharedA.reserve(aRows * aColumns), bCopy = sharedB.reserve(bRows * bColumns)
        roundToBFloat16(rows: aRows, columns: aColumns, from: a, stride: lda, to: aCopy)
        roundToBFloat16(rows: bRows, columns: bColumns, from: b, stride: ldb, to: bCopy)
        multiplySplittingRows(transA, transB, m: m, n: n, k: k, alpha: alpha, a: aCopy, lda: aColumns, b: bCopy, ldb: bColumns,
                              beta: beta, c: c, ldc: ldc, bias: bias, gelu: gelu, residual: residual)
        return true
    }

    /// `multiplySplittingRows` on operands already in bf16 (`UInt16` bits, e.g. from
    /// `roundToBFloat16`, so an operand two products share is rounded once), on oneDNN: the rows
    /// of C split across the workers when they own the cores, else one call on OpenMP threads.
    /// With `residual` (m, n, rows `ldc` apart; beta 0, no GELU) C = alpha·op(A)·op(B) + bias + R,
    /// the residual connection added in the product's epilogue instead of copied into C first.
    public static func multiplySplittingRows(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<UInt16>, lda: Int, b: UnsafePointer<UInt16>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>? = nil, gelu: Bool = false,
        residual: UnsafePointer<Float>? = nil
    ) {
        precondition(residual == nil || k > 0, "a residual epilogue needs a non-empty product")
        guard m > 0 && n > 0 && k > 0 else { return multiplyBF16(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                                                                 b: b, ldb: ldb, beta: beta, c: c, ldc: ldc) }
        let shape = OneDNNGEMM.Shape(transA: transA == .transposed, transB: transB == .transposed, m: m, n: n, k: k,
                                     lda: lda, ldb: ldb, ldc: ldc, alpha: alpha, beta: beta, bf16: true,
                                     threads: BLASRuntime.threads, bias: bias != nil, gelu: gelu, residual: residual != nil)
        splitRows(shape, a: a) { slice, aStart, firstRow in
            OneDNNGEMM.execute(slice, a: aStart, b: UnsafeRawPointer(b), c: c + firstRow * ldc, bias: bias,
                               residual: residual.map { $0 + firstRow * ldc })
        }
    }

    /// `multiplySplittingRows` on bf16 operands writing C in bf16 (`UInt16` bits): `C = op(A)·op(B)
    /// + bias`, then GELU if asked, rounded once in the product's epilogue for the next product.
    public static func multiplySplittingRows(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        a: UnsafePointer<UInt16>, lda: Int, b: UnsafePointer<UInt16>, ldb: Int,
        c: UnsafeMutablePointer<UInt16>, ldc: Int, bias: UnsafePointer<Float>? = nil, gelu: Bool = false
    ) {
        precondition(m > 0 && n > 0 && k > 0, "a bf16 destination needs a non-empty product: m=\(m) n=\(n) k=\(k)")
        var shape = OneDNNGEMM.Shape(transA: transA == .transposed, transB: transB == .transposed, m: m, n: n, k: k,
                                     lda: lda, ldb: ldb, ldc: ldc, alpha: 1, beta: 0, bf16: true,
                                     threads: BLASRuntime.threads, bias: bias != nil, gelu: gelu)
        shape.bf16Output = true
        splitRows(shape, a: a) { slice, aStart, firstRow in
            OneDNNGEMM.execute(slice, a: aStart, b: UnsafeRawPointer(b), cBF16: c + firstRow * ldc, bias: bias)
        }
    }

    /// Runs the bf16 product `shape` (all its m rows) on oneDNN: its rows split across the workers
    /// when they own the cores, else one call on OpenMP threads. `execute(slice, aStart, firstRow)`
    /// runs the rows from `firstRow`, `slice` being `shape` with their count as m.
    private static func splitRows(_ shape: OneDNNGEMM.Shape, a: UnsafePointer<UInt16>,
                                  _ execute: (_ slice: OneDNNGEMM.Shape, _ aStart: UnsafeRawPointer, _ firstRow: Int) -> Void) {
        let split = ParallelRows.splitsMatrixProducts
        ParallelRows.forEach(count: split ? shape.m : 1, minimumChunk: 16) { _, chunk in
            let rows = split ? chunk : 0..<shape.m
            var slice = shape
            slice.m = rows.count
            let aStart = shape.transA ? a + rows.lowerBound : a + rows.lowerBound * shape.lda
            execute(slice, UnsafeRawPointer(aStart), rows.lowerBound)
        }
    }

    /// Rounds a (rows, columns) f32 matrix with rows `stride` apart into dense bf16 rows, the rows
    /// split across the workers.
    public static func roundToBFloat16(rows: Int, columns: Int, from source: UnsafePointer<Float>, stride: Int,
                                       to destination: UnsafeMutablePointer<UInt16>) {
        ParallelRows.forEach(count: rows, minimumChunk: 8) { _, r in
            BFloat16.convert(rows: r.count, columns: columns, from: source + r.lowerBound * stride, stride: stride,
                             to: destination + r.lowerBound * columns)
        }
    }
}

extension GEMM {
    /// `C = alpha · op(A) · op(B) + beta · C` on operands already in bf16 (`UInt16` bits, rows
    /// `lda`/`ldb` apart, shaped as in `multiply`), f32 out, on oneDNN with this thread's OpenMP
    /// threads (1 when fairtune's workers split the work). For operands rounded once and read by
    /// several products (attention's q, k, v and probabilities). With `batchCount` > 1, that many
    /// independent products in one call, operand i starting `i · stride` elements after its base.
    ///
    /// - Complexity: 2·m·n·k floating-point operations.
    public static func multiplyBF16(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<UInt16>, lda: Int, b: UnsafePointer<UInt16>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
        batchCount: Int = 1, strideA: Int = 0, strideB: Int = 0, strideC: Int = 0
    ) {
        let shape = batchedShape(transA, transB, m: m, n: n, k: k, alpha: alpha, lda: lda, ldb: ldb, beta: beta, ldc: ldc,
                                 batchCount: batchCount, strideA: strideA, strideB: strideB, strideC: strideC)
        if m == 0 || n == 0 || batchCount == 0 { return }
        if k == 0 {
            for i in 0..<batchCount { for r in 0..<m { for j in 0..<n { c[i * strideC + r * ldc + j] *= beta } } }
            return
        }
        OneDNNGEMM.execute(shape, a: UnsafeRawPointer(a), b: UnsafeRawPointer(b), c: c)
    }

    /// `multiplyBF16` writing C in bf16 (`UInt16` bits): `C = alpha · op(A) · op(B)` rounded once
    /// in the product's epilogue, for a result that is the next kernel's bf16 operand (attention's
    /// output before proj, its dL/dP). Requires m, n, k > 0.
    ///
    /// - Complexity: 2·m·n·k floating-point operations.
    public static func multiplyBF16(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<UInt16>, lda: Int, b: UnsafePointer<UInt16>, ldb: Int,
        c: UnsafeMutablePointer<UInt16>, ldc: Int,
        batchCount: Int = 1, strideA: Int = 0, strideB: Int = 0, strideC: Int = 0
    ) {
        precondition(m > 0 && n > 0 && k > 0 && batchCount > 0,
                     "a bf16 destination needs a non-empty product: m=\(m) n=\(n) k=\(k) batch=\(batchCount)")
        var shape = batchedShape(transA, transB, m: m, n: n, k: k, alpha: alpha, lda: lda, ldb: ldb, beta: 0, ldc: ldc,
                                 batchCount: batchCount, strideA: strideA, strideB: strideB, strideC: strideC)
        shape.bf16Output = true
        OneDNNGEMM.execute(shape, a: UnsafeRawPointer(a), b: UnsafeRawPointer(b), cBF16: c)
    }

    /// The oneDNN shape of a `multiplyBF16` call, its leading dimensions checked.
    private static func batchedShape(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float, lda: Int, ldb: Int,
        beta: Float, ldc: Int, batchCount: Int, strideA: Int, strideB: Int, strideC: Int
    ) -> OneDNNGEMM.Shape {
        precondition(lda >= (transA == .none ? k : m) && ldb >= (transB == .none ? n : k) && ldc >= n,
                     "GEMM leading dimensions too small: lda=\(lda) ldb=\(ldb) ldc=\(ldc) for m=\(m) n=\(n) k=\(k)")
        var shape = OneDNNGEMM.Shape(transA: transA == .transposed, transB: transB == .transposed, m: m, n: n, k: k,
                                     lda: lda, ldb: ldb, ldc: ldc, alpha: alpha, beta: beta, bf16: true,
                                     threads: BLASRuntime.threads)
        if batchCount > 1 { (shape.batch, shape.strideA, shape.strideB, shape.strideC) = (batchCount, strideA, strideB, strideC) }
        return shape
    }
}
