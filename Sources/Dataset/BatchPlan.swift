import Randomness

/// Which samples of a split one rank reads in one epoch, in order, cut into batches.
///
/// Training: a seeded permutation of the whole split (the same on every rank) is cut into global
/// batches of `globalBatchSize` consecutive samples, and each global batch into `rankCount`
/// contiguous parts whose sizes differ by at most one; rank r reads part r of every global batch.
/// So the samples of global batch j are the same whatever the rank count, and every rank takes the
/// same number of steps (a part may be empty when a last partial global batch is kept).
/// Evaluation: the split in stored order, cut into contiguous parts whose sizes differ by at most
/// one, so the ranks together cover every sample exactly once; the last partial batch is kept.
public struct BatchPlan: Sendable, Equatable {
    /// Sample indices (within the split) this rank reads, in order.
    public let indices: [Int]
    /// Where each batch starts in `indices`, plus the end: batch b is `batchStarts[b]..<batchStarts[b+1]`.
    public let batchStarts: [Int]
    /// The epoch this plan is for (seeds the augmentations).
    public let epoch: Int

    /// The number of batches (steps).
    public var batchCount: Int { batchStarts.count - 1 }

    /// The most rows any batch of the plan holds.
    public var largestBatch: Int {
        zip(batchStarts.dropFirst(), batchStarts).map { $0 - $1 }.max() ?? 0
    }

    /// Sample indices of batch `b`.
    public func batch(_ b: Int) -> ArraySlice<Int> {
        precondition(b >= 0 && b < batchCount, "batch \(b) outside 0..<\(batchCount)")
        return indices[batchStarts[b]..<batchStarts[b + 1]]
    }

    /// The same plan without its first `count` batches: what is left of an epoch resumed after
    /// `count` steps. Augmentations depend on (seed, epoch, sample) only, so the batches are the same.
    /// - Precondition: `0 <= count <= batchCount`.
    public func droppingBatches(_ count: Int) -> BatchPlan {
        precondition(count >= 0 && count <= batchCount, "cannot drop \(count) of \(batchCount) batches")
        let first = batchStarts[count]
        return BatchPlan(indices: Array(indices[first...]), batchStarts: batchStarts[count...].map { $0 - first }, epoch: epoch)
    }

    /// The part of `count` items that `rank` of `rankCount` takes: contiguous, sizes differing by at most one.
    static func part(of count: Int, rank: Int, rankCount: Int) -> Range<Int> {
        let base = count / rankCount, extra = count % rankCount
        let start = rank * base + min(rank, extra)
        return start..<(start + base + (rank < extra ? 1 : 0))
    }

    /// The training plan: seeded shuffle per epoch, global batches split across ranks.
    ///
    /// - Parameters:
    ///   - globalBatchSize: samples per optimizer step over all ranks.
    ///   - dropLast: leave out a last partial global batch.
    /// - Precondition: `0 <= rank < rankCount`, `globalBatchSize >= rankCount`.
    public static func training(count: Int, globalBatchSize: Int, rank: Int, rankCount: Int, seed: UInt64, epoch: Int,
                                dropLast: Bool = true) -> BatchPlan {
        precondition(rankCount >= 1 && rank >= 0 && rank < rankCount, "rank \(rank) of \(rankCount)")
        precondition(globalBatchSize >= rankCount, "global batch \(globalBatchSize) smaller than \(rankCount) ranks")
        let order = SeededRandom.permutation(count: count, seed: seed, epoch: epoch)
        let batches = dropLast ? count / globalBatchSize : (count + globalBatchSize - 1) / globalBatchSize
        var indices: [Int] = []
        var starts = [0]
        indices.reserveCapacity(batches * (globalBatchSize / rankCount + 1))
        for j in 0..<batches {
            let first = j * globalBatchSize
            let size = min(globalBatchSize, count - first)
            let mine = part(of: size, rank: rank, rankCount: rankCount)
            indices += order[(first + mine.lowerBound)..<(first + mine.upperBound)]
            starts.append(indices.count)
        }
        return BatchPlan(indices: indices, batchStarts: starts, epoch: epoch)
    }

    /// The evaluation plan: stored order, contiguous parts covering the split exactly once.
    /// - Precondition: `0 <= rank < rankCount`, `batchSize >= 1`.
    public static func evaluation(count: Int, batchSize: Int, rank: Int, rankCount: Int) -> BatchPlan {
        precondition(rankCount >= 1 && rank >= 0 && rank < rankCount, "rank \(rank) of \(rankCount)")
        precondition(batchSize >= 1, "batch size \(batchSize) must be positive")
        let mine = part(of: count, rank: rank, rankCount: rankCount)
        let starts = Array(stride(from: 0, to: mine.count, by: batchSize)) + [mine.count]
        return BatchPlan(indices: Array(mine), batchStarts: mine.isEmpty ? [0] : starts, epoch: 0)
    }
}
