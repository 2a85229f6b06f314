import Dataset
import HDF5IO
import Randomness
import TestSupport
import XCTest

/// Shuffling, rank partitioning, batch contents, and the prefetching thread on the tiny fixture.
final class BatchLoaderTests: XCTestCase {
    func testShuffleIsASeededPermutationThatChangesPerEpoch() {
        let a = SeededRandom.permutation(count: 1000, seed: 7, epoch: 0)
        XCTAssertEqual(a.sorted(), Array(0..<1000))
        XCTAssertEqual(a, SeededRandom.permutation(count: 1000, seed: 7, epoch: 0))
        XCTAssertNotEqual(a, SeededRandom.permutation(count: 1000, seed: 7, epoch: 1))
        XCTAssertNotEqual(a, SeededRandom.permutation(count: 1000, seed: 8, epoch: 0))
        XCTAssertNotEqual(a, Array(0..<1000))
        XCTAssertEqual(SeededRandom.permutation(count: 0, seed: 1, epoch: 0), [])
    }

    func testBoundedIntegersAreInRangeAndCoverIt() {
        var generator = SeededRandom(seed: 3)
        var seen = [Int](repeating: 0, count: 7)
        for _ in 0..<7000 { seen[generator.below(7)] += 1 }
        // Each of 7 values expected 1000 times; 800 is > 6 standard deviations (about 30) away.
        XCTAssertTrue(seen.allSatisfy { $0 > 800 && $0 < 1200 }, "\(seen)")
    }

    func testTrainingGlobalBatchesAreTheSameWhateverTheRankCount() {
        for count in [0, 1, 7, 28, 100] {
            for globalBatch in [5, 6, 12] {
                for dropLast in [true, false] {
                    let single = BatchPlan.training(count: count, globalBatchSize: globalBatch, rank: 0, rankCount: 1,
                                                    seed: 11, epoch: 2, dropLast: dropLast)
                    XCTAssertEqual(single.batchCount, dropLast ? count / globalBatch : (count + globalBatch - 1) / globalBatch)
                    for rankCount in 1...5 {
                        let parts = (0..<rankCount).map {
                            BatchPlan.training(count: count, globalBatchSize: globalBatch, rank: $0, rankCount: rankCount,
                                               seed: 11, epoch: 2, dropLast: dropLast)
                        }
                        XCTAssertEqual(Set(parts.map(\.batchCount)), [single.batchCount], "every rank must take the same number of steps")
                        for b in 0..<single.batchCount {
                            // Rank parts of global batch b, concatenated in rank order, are the one-rank batch b.
                            XCTAssertEqual(parts.flatMap { Array($0.batch(b)) }, Array(single.batch(b)),
                                           "count \(count) batch \(globalBatch) ranks \(rankCount) step \(b)")
                            let sizes = parts.map { $0.batch(b).count }
                            XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1)
                        }
                        let all = parts.flatMap(\.indices)
                        XCTAssertEqual(Set(all).count, all.count, "overlap")
                        XCTAssertTrue(all.allSatisfy { $0 >= 0 && $0 < count })
                    }
                }
            }
        }
    }

    func testEvaluationRankPartsCoverTheSplitExactlyOnce() {
        for count in [0, 1, 6, 28, 101] {
            for rankCount in 1...5 {
                let parts = (0..<rankCount).map { BatchPlan.evaluation(count: count, batchSize: 4, rank: $0, rankCount: rankCount) }
                let batched = parts.flatMap { plan in (0..<plan.batchCount).flatMap { plan.batch($0) } }
                XCTAssertEqual(batched.sorted(), Array(0..<count), "count \(count) ranks \(rankCount)")
                XCTAssertLessThanOrEqual(parts.map(\.indices.count).max()! - parts.map(\.indices.count).min()!, 1)
            }
        }
    }

    func testDropLastDropsOnlyThePartialBatch() {
        let keep = BatchPlan.training(count: 10, globalBatchSize: 4, rank: 0, rankCount: 1, seed: 1, epoch: 0, dropLast: false)
        let drop = BatchPlan.training(count: 10, globalBatchSize: 4, rank: 0, rankCount: 1, seed: 1, epoch: 0, dropLast: true)
        XCTAssertEqual([keep.batchCount, drop.batchCount], [3, 2])
        XCTAssertEqual(keep.batch(2).count, 2)
    }

    /// An eval transform that copies the stored pixels: scale 1 (resize to the stored shorter side)
    /// and mean 0, std 1/255, so outputs are the stored bytes; the crop keeps columns 2..<14.
    private func identityLoader(_ split: DatasetSplit, batchSize: Int) -> BatchLoader {
        let transform = ImageTransform.evaluation(size: 12, resizeSize: 12, mean: [0, 0, 0], std: [1.0 / 255, 1.0 / 255, 1.0 / 255])
        return BatchLoader(split: split, transform: transform, batchSize: batchSize)
    }

    func testEvaluationBatchesHoldTheRightSamplesInNCHWWithPadding() throws {
        let dataset = try PreparedDataset(directory: Fixtures.tiny)
        let val = try dataset.split("val")
        let loader = identityLoader(val, batchSize: 4)
        let plan = loader.evaluationPlan(rank: 0, rankCount: 1)
        XCTAssertEqual(plan.batchCount, 2)
        let stream = loader.batches(plan)
        var seen: [String] = []
        while let batch = try stream.next() {
            XCTAssertEqual(batch.validCount, batch.index == 0 ? 4 : 2)
            for row in 0..<batch.validCount {
                let sample = batch.sampleIndices[row]
                XCTAssertEqual(batch.sampleIDs[row], val.sampleIDs[sample])
                XCTAssertEqual(batch.labels[row], val.labels[sample])
                XCTAssertEqual(batch.groups(attribute: 1)[row], val.groups[1][sample])
                let n = Fixtures.number(ofSample: val.sampleIDs[sample])
                let image = batch.image(row)
                var worst: Float = 0
                for c in 0..<3 { for y in 0..<12 { for x in 0..<12 {
                    let expected = Float(Fixtures.pixel(sample: n, y: y, x: x + 2, c: c))
                    worst = max(worst, abs(image[(c * 12 + y) * 12 + x] - expected))
                } } }
                XCTAssertLessThan(worst, 1e-3, "sample \(val.sampleIDs[sample])")  // float rounding of 1/(255 std)
                seen.append(batch.sampleIDs[row])
            }
            for row in batch.validCount..<batch.capacity {
                XCTAssertEqual(batch.sampleIDs[row], "")
                XCTAssertEqual(batch.groups(attribute: 0)[row], -1)
                XCTAssertTrue(batch.image(row).allSatisfy { $0 == 0 })
            }
        }
        XCTAssertEqual(seen, val.sampleIDs)
        XCTAssertNil(try stream.next())
    }

    /// Every value of a batch, for comparing two ways of making it.
    private struct Snapshot: Equatable {
        var images: [Float], labels: [Int], groups: [Int], ids: [String], indices: [Int], valid: Int
        init(_ b: Batch) {
            images = Array(b.images); labels = Array(b.labels); groups = Array(b.groupTable)
            ids = b.sampleIDs; indices = Array(b.sampleIndices); valid = b.validCount
        }
    }

    func testPrefetchingThreadDeliversTheSameBatchesAsSynchronousReading() throws {
        let train = try PreparedDataset(directory: Fixtures.tiny).split("train")
        let transform = ImageTransform.training(size: 8, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
        for (epoch, workers) in [(0, 1), (1, 1), (1, 2)] {
            let loader = BatchLoader(split: train, transform: transform, batchSize: 3, seed: 5, workers: workers, prefetch: 2)
            let plan = loader.trainingPlan(epoch: epoch, rank: 0, rankCount: 1, dropLast: false)
            XCTAssertEqual(plan.batchCount, 6)
            let batch = loader.makeBatch(), scratch = loader.makeScratch()
            var synchronous: [Snapshot] = []
            for b in 0..<plan.batchCount {
                try loader.load(plan, batch: b, into: batch, scratch: scratch)
                synchronous.append(Snapshot(batch))
            }
            var streamed: [Snapshot] = []
            let stream = loader.batches(plan)
            while let b = try stream.next() {
                usleep(2000)  // a slow consumer, so the producer fills the queue and waits
                streamed.append(Snapshot(b))
            }
            XCTAssertEqual(streamed, synchronous, "epoch \(epoch), workers \(workers)")
            XCTAssertEqual(Set(synchronous.flatMap { $0.ids.prefix($0.valid) }), Set(train.sampleIDs))
        }
    }

    func testAugmentationDependsOnlyOnSeedEpochAndSample() throws {
        let train = try PreparedDataset(directory: Fixtures.tiny).split("train")
        let transform = ImageTransform.training(size: 8, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
        let one = BatchLoader(split: train, transform: transform, batchSize: 16, seed: 9, workers: 1)
        let three = BatchLoader(split: train, transform: transform, batchSize: 2, seed: 9, workers: 3)
        // The same epoch read as one big batch by one worker, and by two ranks in small batches
        // with three workers: each sample's pixels agree.
        func images(_ loader: BatchLoader, _ plans: [BatchPlan]) throws -> [Int: [Float]] {
            var result: [Int: [Float]] = [:]
            let batch = loader.makeBatch(), scratch = loader.makeScratch()
            for plan in plans {
                for b in 0..<plan.batchCount {
                    try loader.load(plan, batch: b, into: batch, scratch: scratch)
                    for row in 0..<batch.validCount { result[batch.sampleIndices[row]] = Array(batch.image(row)) }
                }
            }
            return result
        }
        let single = try images(one, [one.trainingPlan(epoch: 3, rank: 0, rankCount: 1)])
        let split = try images(three, (0..<2).map { three.trainingPlan(epoch: 3, rank: $0, rankCount: 2, globalBatchSize: 4) })
        XCTAssertEqual(single.count, 16)
        XCTAssertEqual(split.count, 16)
        for (sample, pixels) in split { XCTAssertEqual(pixels, single[sample], "sample \(sample)") }
        let nextEpoch = try images(one, [one.trainingPlan(epoch: 4, rank: 0, rankCount: 1)])
        XCTAssertNotEqual(nextEpoch, single, "augmentations must change between epochs")
    }

    func testStreamReportsAReadFailureAfterTheBatchesBeforeIt() throws {
        let fm = FileManager.default
        let directory = TestSupport.temporaryPath("fairtune-damaged")
        try fm.copyItem(atPath: Fixtures.tiny, toPath: directory.path)
        defer { try? fm.removeItem(at: directory) }
        let val = try PreparedDataset(directory: directory.path).split("val")
        // Damage the images after opening: zero the file from byte 2048 on (metadata read at open
        // stays cached, the image chunks are gone).
        let path = directory.appendingPathComponent("val/shard-00000.h5").path
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: 2048)
        try handle.write(contentsOf: Data(count: Int(size) - 2048))
        try handle.close()
        let loader = BatchLoader(split: val, transform: .evaluation(size: 8, resizeSize: 12, mean: [0, 0, 0], std: [1, 1, 1]),
                                 batchSize: 2)
        let stream = loader.batches(loader.evaluationPlan(rank: 0, rankCount: 1))
        var delivered = 0
        do {
            while try stream.next() != nil { delivered += 1 }
            XCTFail("read \(delivered) batches of a damaged shard without error")
        } catch {
            guard case .unreadableSample(_, _, _, let inner) = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(inner)".contains("val/shard-00000.h5"), "\(inner)")
        }
        XCTAssertLessThan(delivered, 3)
    }
}

/// A shard truncated while it is open (a copy overwritten, a quota hit): HDF5 reads the missing
/// bytes as zeros without an error; the reader must notice and name the file and the sample.
final class TruncatedShardTests: XCTestCase {
    func testAShardTruncatedAfterOpeningFailsNamingFileAndSample() throws {
        let fm = FileManager.default
        let directory = TestSupport.temporaryPath("truncated")
        try fm.copyItem(atPath: Fixtures.tiny, toPath: directory.path)
        defer { try? fm.removeItem(at: directory) }
        let path = directory.appendingPathComponent("train/shard-00000.h5").path
        try rewriteUncompressed(path)
        let train = try PreparedDataset(directory: directory.path).split("train")
        let height = train.imageHeight, width = train.imageWidth
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: height * width * 3)
        defer { buffer.deallocate() }
        try train.readImage(0, into: buffer)  // intact before

        let size = try fm.attributesOfItem(atPath: path)[.size] as! Int
        XCTAssertEqual(truncate(path, off_t(size / 2)), 0)
        var failures = 0
        for index in 0..<10 {
            do {
                try train.readImage(index, into: buffer)
                // A sample whose bytes survived must still read back exactly (never zeros).
                let n = Fixtures.number(ofSample: train.sampleIDs[index])
                var mismatches = 0
                for y in 0..<height { for x in 0..<width { for c in 0..<3
                    where buffer[(y * width + x) * 3 + c] != Fixtures.pixel(sample: n, y: y, x: x, c: c) { mismatches += 1 } } }
                XCTAssertEqual(mismatches, 0, "sample \(index) read with wrong pixels")
            } catch {
                failures += 1
                guard case let .unreadableSample("train", i, id, .readFailed(file, "images", _)) = error else {
                    return XCTFail("\(error)")
                }
                XCTAssertEqual(i, index)
                XCTAssertEqual(id, train.sampleIDs[index])
                XCTAssertEqual(file, path)
                XCTAssertTrue("\(error)".contains("truncated") && "\(error)".contains("sample '\(id)'"), "\(error)")
            }
        }
        XCTAssertGreaterThanOrEqual(failures, 5, "the reads of the lost half of the shard fail")
    }

    /// Rewrites a shard with uncompressed images (data-prep's default), where a truncation leaves
    /// no decompression error to notice, only missing bytes.
    private func rewriteUncompressed(_ path: String) throws {
        let copy = path + ".plain"
        do {
            let source = try HDF5File(path: path)
            let target = try HDF5File(path: copy, mode: .create)
            for name in ["format", "split"] { try target.writeAttribute(name, string: try source.readStringAttribute(name)) }
            for name in ["format_version", "shard_index"] {
                try target.writeAttribute(name, values: try source.readAttribute(name, as: Int64.self))
            }
            let images = try source.dataset("images")
            let shape = images.shape
            try target.createDataset("images", of: UInt8.self, shape: shape, chunk: [1] + shape.dropFirst())
                .write(try images.read(as: UInt8.self))
            for name in ["labels", "attrs/sex", "attrs/age_binary"] {
                let dataset = try target.createDataset(name, of: Int64.self, shape: try source.dataset(name).shape)
                try dataset.write(try source.dataset(name).read(as: Int64.self))
                if name.hasPrefix("attrs/") {
                    try dataset.writeAttribute("groups", strings: try source.dataset(name).readStringsAttribute("groups"))
                }
            }
            for name in ["ids/sample", "ids/patient"] {
                try target.createStringDataset(name, values: try source.dataset(name).readStrings())
            }
        }
        XCTAssertEqual(rename(copy, path), 0)
    }
}
