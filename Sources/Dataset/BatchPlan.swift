/// Which samples of a split one rank reads in one epoch, in order, cut into batches.
///
/// Training: a seeded permutation of the whole split (the same on every rank), cut into
/// `rankCount` equal contiguous parts of `count / rankCount` samples (the `count % rankCount`
/// samples left over differ from epoch to epoch); every rank gets the same number of batches, so
/// gradient all-reduces pair up. Evaluation: the split in stored order, cut into contiguous parts
/// whose sizes differ by at most one, so the ranks together cover every sample exactly once; the
/// last partial batch is kept.
public struct BatchPlan: Sendable, Equatable {
    /// Sample indices (within the split) this rank reads, in order.
    public let indices: [Int]
    /// Rows per batch.
    public let batchSize: Int
    /// Whether a last partial batch is left out (training only).
    public let dropLast: Bool
    /// The epoch this plan is for (seeds the augmentations).
    public let epoch: Int

    /// The number of batches: full batches, plus a last partial batch unless `dropLast`.
    public var batchCount: Int {
        dropLast ? indices.count / batchSize : (indices.count + batchSize - 1) / batchSize
    }

    /// Sample indices of batch `b`.
    public func batch(_ b: Int) -> ArraySlice<Int> {
        precondition(b >= 0 && b < batchCount, "batch \(b) outside 0..<\(batchCount)")
        return indices[(b * batchSize)..<min((b + 1) * batchSize, indices.count)]
    }

    /// The training plan: seeded shuffle per epoch, equal part per rank.
    /// - Precondition: `0 <= rank < rankCount`, `batchSize >= 1`.
    public static func training(count: Int, batchSize: Int, rank: Int, rankCount: Int, seed: UInt64, epoch: Int,
                                dropLast: Bool = true) -> BatchPlan {
        precondition(rankCount >= 1 && rank >= 0 && rank < rankCount, "rank \(rank) of \(rankCount)")
        precondition(batchSize >= 1, "batch size \(batchSize) must be positive")
        let order = SeededRandom.permutation(count: count, seed: seed, epoch: epoch)
        let part = count / rankCount
        return BatchPlan(indices: Array(order[(rank * part)..<((rank + 1) * part)]), batchSize: batchSize,
                         dropLast: dropLast, epoch: epoch)
    }

    /// The evaluation plan: stored order, contiguous parts covering the split exactly once.
    /// - Precondition: `0 <= rank < rankCount`, `batchSize >= 1`.
    public static func evaluation(count: Int, batchSize: Int, rank: Int, rankCount: Int) -> BatchPlan {
        precondition(rankCount >= 1 && rank >= 0 && rank < rankCount, "rank \(rank) of \(rankCount)")
        precondition(batchSize >= 1, "batch size \(batchSize) must be positive")
        let base = count / rankCount, extra = count % rankCount
        let start = rank * base + min(rank, extra)
        let end = start + base + (rank < extra ? 1 : 0)
        return BatchPlan(indices: Array(start..<end), batchSize: batchSize, dropLast: false, epoch: 0)
    }
}
