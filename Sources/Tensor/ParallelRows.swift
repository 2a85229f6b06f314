import Dispatch

/// Splits row-wise work (layer norm, softmax, GELU, attention over batch × heads) across cores.
///
/// Two modes. By default the worker count follows the BLAS thread count, so one knob
/// (`OPENBLAS_NUM_THREADS` or `BLASRuntime.setThreads`) sets the parallelism of the whole step,
/// and each GEMM is threaded inside OpenBLAS. After `useOwnThreads(_:)` OpenBLAS runs
/// single-threaded and fairtune's workers split the matrix products too (`GEMM.multiplySplittingRows`,
/// attention per batch × head): OpenBLAS's idle workers then no longer spin against the row-wise
/// kernels, and attention runs each head's products and softmax in one cache-warm task.
public enum ParallelRows {
    /// Workers set by `useOwnThreads`; 0 follows the BLAS thread count. Written only from the
    /// main thread before any parallel work starts.
    nonisolated(unsafe) private static var ownWorkers = 0

    /// How many chunks `forEach` uses at most.
    public static var workerCount: Int { ownWorkers > 0 ? ownWorkers : max(1, BLASRuntime.threads) }

    /// Whether callers split matrix products across the workers (OpenBLAS single-threaded).
    public static var splitsMatrixProducts: Bool { ownWorkers > 1 }

    /// Runs everything on `count` fairtune workers: OpenBLAS goes single-threaded. Call from the
    /// main thread before any model work (not concurrently with it).
    /// - Precondition: `count >= 1`.
    public static func useOwnThreads(_ count: Int) {
        precondition(count >= 1, "thread count must be at least 1, got \(count)")
        if ownWorkers == 0 { blasThreadsBefore = BLASRuntime.threads }
        BLASRuntime.setThreads(1)
        ownWorkers = count
    }

    /// Returns to the default: OpenBLAS threads as before `useOwnThreads`, row-wise work following them.
    public static func useBLASThreads() {
        guard ownWorkers > 0 else { return }
        ownWorkers = 0
        BLASRuntime.setThreads(blasThreadsBefore)
    }

    nonisolated(unsafe) private static var blasThreadsBefore = 1

    /// Calls `body` on disjoint ranges that together cover `0..<count`, concurrently.
    ///
    /// - Parameters:
    ///   - count: the number of rows.
    ///   - minimumChunk: the fewest rows worth a thread of their own (small work stays serial).
    ///   - body: receives a chunk index in `0..<chunks` and the chunk's row range; must only
    ///     write memory that belongs to its rows (or to its chunk index).
    /// - Returns: the number of chunks used, so callers can reduce per-chunk partial sums.
    @discardableResult
    public static func forEach(count: Int, minimumChunk: Int = 1,
                               _ body: (_ chunk: Int, _ rows: Range<Int>) -> Void) -> Int {
        forEach(count: count, chunks: chunkCount(count: count, minimumChunk: minimumChunk), body)
    }

    /// `forEach` over exactly `chunks` chunks (at least 1, at most `count`), for a caller that sized
    /// per-chunk storage with `chunkCount` first: the split cannot change in between, even if the
    /// worker count does (tests switch it while others run).
    @discardableResult
    public static func forEach(count: Int, chunks requested: Int,
                               _ body: (_ chunk: Int, _ rows: Range<Int>) -> Void) -> Int {
        let chunks = max(1, min(requested, count))
        if chunks <= 1 {
            if count > 0 { body(0, 0..<count) }
            return 1
        }
        // The chunks write disjoint memory and all finish before concurrentPerform returns, so the
        // non-Sendable closure is safe to share; the box tells the compiler so.
        withoutActuallyEscaping(body) { escapable in
            let shared = UncheckedSendableBox(escapable)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                shared.value(c, (c * count / chunks)..<((c + 1) * count / chunks))
            }
        }
        return chunks
    }

    /// The number of chunks `forEach` uses for `count` rows.
    public static func chunkCount(count: Int, minimumChunk: Int = 1) -> Int {
        max(1, min(workerCount, count / max(1, minimumChunk)))
    }
}

/// Carries a value across a concurrency boundary the caller has checked by hand.
struct UncheckedSendableBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
