import Foundation
import Randomness

/// Reads, transforms and batches one split's samples for one rank, optionally on a background
/// thread ahead of compute.
///
/// Augmentations use a generator seeded by (seed, epoch, sample index), so a sample's pixels do not
/// depend on worker count, rank count or batch position.
public final class BatchLoader: Sendable {
    /// The split the samples come from.
    public let split: DatasetSplit
    /// Applied to every image (training or evaluation transform).
    public let transform: ImageTransform
    /// Rows per batch (B).
    public let batchSize: Int
    /// Seeds the training shuffle and the augmentations.
    public let seed: UInt64
    /// Threads that transform the samples of one batch in parallel.
    public let workers: Int
    /// Ready batches the background thread may hold ahead of the consumer.
    public let prefetch: Int
    /// Attribute count of the split (rows of `Batch.groupTable`).
    public let attributeCount: Int

    /// - Precondition: `batchSize >= 1`, `workers >= 1`, `prefetch >= 1`.
    public init(split: DatasetSplit, transform: ImageTransform, batchSize: Int, seed: UInt64 = 0, workers: Int = 1, prefetch: Int = 2) {
        precondition(batchSize >= 1 && workers >= 1 && prefetch >= 1, "batch size, workers and prefetch must be positive")
        self.split = split
        self.transform = transform
        self.batchSize = batchSize
        self.seed = seed
        self.workers = workers
        self.prefetch = prefetch
        self.attributeCount = split.groups.count
    }

    /// This rank's training plan for `epoch` (seeded shuffle, global batches split across ranks,
    /// see `BatchPlan`). The global batch defaults to `batchSize` per rank.
    /// - Precondition: this rank's part of a global batch fits in `batchSize`.
    public func trainingPlan(epoch: Int, rank: Int, rankCount: Int, globalBatchSize: Int? = nil,
                             dropLast: Bool = true) -> BatchPlan {
        let global = globalBatchSize ?? batchSize * rankCount
        precondition((global + rankCount - 1) / rankCount <= batchSize,
                     "a rank's part of the global batch \(global) exceeds the loader's batch size \(batchSize)")
        return .training(count: split.count, globalBatchSize: global, rank: rank, rankCount: rankCount, seed: seed,
                         epoch: epoch, dropLast: dropLast)
    }

    /// This rank's evaluation plan (stored order, ranks together cover the split exactly once).
    public func evaluationPlan(rank: Int, rankCount: Int) -> BatchPlan {
        .evaluation(count: split.count, batchSize: batchSize, rank: rank, rankCount: rankCount)
    }

    /// A batch with buffers of this loader's shape.
    public func makeBatch() -> Batch {
        Batch(capacity: batchSize, imageSize: transform.size, attributeCount: attributeCount)
    }

    /// Working memory of one worker: the stored image and the resampler's scratch.
    public final class WorkerScratch: @unchecked Sendable {
        let image: UnsafeMutableBufferPointer<UInt8>
        let resample = ResampleScratch()

        init(height: Int, width: Int) {
            image = .allocate(capacity: height * width * 3)
            image.initialize(repeating: 0)
        }

        deinit { image.deallocate() }
    }

    /// Scratch for each of this loader's workers.
    public func makeScratch() -> [WorkerScratch] {
        (0..<workers).map { _ in WorkerScratch(height: split.imageHeight, width: split.imageWidth) }
    }

    /// Fills `batch` with batch `b` of `plan`, on the calling thread (and `workers` threads).
    /// - Throws: `DatasetError.unreadableSample` when an image cannot be read.
    public func load(_ plan: BatchPlan, batch b: Int, into batch: Batch, scratch: [WorkerScratch]) throws(DatasetError) {
        precondition(batch.capacity == batchSize && batch.imageSize == transform.size && scratch.count >= 1,
                     "batch or scratch not made by this loader")
        let rows = plan.batch(b)
        batch.epoch = plan.epoch
        batch.index = b
        batch.validCount = rows.count
        for (row, sample) in rows.enumerated() {
            batch.labels[row] = split.labels[sample]
            batch.sampleIndices[row] = sample
            batch.sampleIDs[row] = split.sampleIDs[sample]
            for a in 0..<attributeCount { batch.groupTable[a * batch.capacity + row] = split.groups[a][sample] }
        }
        batch.pad(from: rows.count)

        let workerCount = min(scratch.count, rows.count)
        if workerCount <= 1 {
            for row in 0..<rows.count { try transformRow(row, sample: rows[rows.startIndex + row], epoch: plan.epoch, batch, scratch[0]) }
            return
        }
        let failure = FirstFailure()
        DispatchQueue.concurrentPerform(iterations: workerCount) { w in
            var row = w
            while row < rows.count {
                do throws(DatasetError) {
                    try transformRow(row, sample: rows[rows.startIndex + row], epoch: plan.epoch, batch, scratch[w])
                } catch {
                    failure.record(error)
                    return
                }
                row += workerCount
            }
        }
        if let error = failure.error { throw error }
    }

    private func transformRow(_ row: Int, sample: Int, epoch: Int, _ batch: Batch, _ scratch: WorkerScratch) throws(DatasetError) {
        try split.readImage(sample, into: scratch.image)
        var generator = SeededRandom(seed: seed, UInt64(truncatingIfNeeded: epoch), UInt64(sample))
        transform.apply(source: scratch.image.baseAddress!, height: split.imageHeight, width: split.imageWidth,
                        output: batch.image(row).baseAddress!, using: &generator, scratch: scratch.resample)
    }

    /// The batches of `plan`, made on a background thread up to `prefetch` batches ahead.
    public func batches(_ plan: BatchPlan) -> BatchStream {
        BatchStream(loader: self, plan: plan)
    }
}

/// The first error thrown by any worker.
private final class FirstFailure: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var error: DatasetError?

    func record(_ error: DatasetError) {
        lock.lock()
        if self.error == nil { self.error = error }
        lock.unlock()
    }
}

/// Batches of one plan, produced in order by a background thread into a bounded queue of
/// preallocated batches. `next()` returns each batch once; a returned batch stays valid until the
/// following call to `next()`, which hands it back to the producer for reuse. Dropping the stream
/// stops the producer after the batch it is making.
public final class BatchStream: @unchecked Sendable {
    /// The number of batches the stream delivers (unless a read fails).
    public let batchCount: Int
    private let state: State

    /// Shared between the consumer and the producer thread; guarded by `condition`.
    private final class State: @unchecked Sendable {
        let condition = NSCondition()
        var free: [Batch]
        var ready: [Batch] = []
        var failure: DatasetError?
        var cancelled = false
        var handedOut: Batch?

        init(free: [Batch]) { self.free = free }
    }

    init(loader: BatchLoader, plan: BatchPlan) {
        batchCount = plan.batchCount
        // `prefetch` batches in the queue, one being made, one held by the consumer.
        let state = State(free: (0..<(loader.prefetch + 1)).map { _ in loader.makeBatch() })
        self.state = state
        let thread = Thread {
            let scratch = loader.makeScratch()
            for b in 0..<plan.batchCount {
                state.condition.lock()
                while state.free.isEmpty && !state.cancelled { state.condition.wait() }
                if state.cancelled {
                    state.condition.unlock()
                    return
                }
                let batch = state.free.removeLast()
                state.condition.unlock()
                do throws(DatasetError) {
                    try loader.load(plan, batch: b, into: batch, scratch: scratch)
                } catch {
                    state.condition.lock()
                    state.failure = error
                    state.condition.broadcast()
                    state.condition.unlock()
                    return
                }
                state.condition.lock()
                state.ready.append(batch)
                state.condition.broadcast()
                state.condition.unlock()
            }
        }
        thread.name = "fairtune-batch-loader"
        thread.start()
    }

    deinit {
        state.condition.lock()
        state.cancelled = true
        state.condition.broadcast()
        state.condition.unlock()
    }

    private var delivered = 0

    /// The next batch in plan order, or nil after the last.
    /// - Throws: the `DatasetError` that stopped the producer, after the batches made before it.
    public func next() throws(DatasetError) -> Batch? {
        state.condition.lock()
        defer { state.condition.unlock() }
        if let previous = state.handedOut {
            state.free.append(previous)
            state.handedOut = nil
            state.condition.broadcast()
        }
        guard delivered < batchCount else { return nil }
        while state.ready.isEmpty && state.failure == nil { state.condition.wait() }
        if !state.ready.isEmpty {
            let batch = state.ready.removeFirst()
            state.handedOut = batch
            delivered += 1
            return batch
        }
        throw state.failure!
    }
}
