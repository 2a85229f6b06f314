import FileOutput
import Foundation
import HDF5IO

/// A prepared dataset folder (manifest.json + HDF5 shards), opened and fully validated.
///
/// Opening checks everything `data-prep check` checks: the manifest, every shard's schema,
/// per-shard and per-split counts against the manifest, label and group ranges, group names, and
/// that no sample or patient id is in two splits. Per-sample tables (labels, groups, ids) are held
/// in memory; images are read from the shards on demand.
public final class PreparedDataset: Sendable {
    /// The dataset folder as given.
    public let directory: String
    /// The validated manifest.
    public let manifest: DatasetManifest
    /// Every split, in the manifest's order (train, val, test first).
    public let splits: [DatasetSplit]

    /// The attribute names, in the manifest's order (the order of `Batch` group tables).
    public var attributeNames: [String] { manifest.attributes.map(\.name) }

    /// Opens and validates the dataset in `directory`.
    /// - Throws: `DatasetError` naming the file, the field and what was expected versus found.
    /// - Complexity: reads every shard's labels, groups and ids once (not the images).
    public init(directory: String) throws(DatasetError) {
        self.directory = directory
        let manifestPath = (directory as NSString).appendingPathComponent("manifest.json")
        let manifest = try DatasetManifest.load(from: manifestPath)
        self.manifest = manifest
        var splits: [DatasetSplit] = []
        var sampleOwner: [String: String] = [:]   // id -> "split 'train' (file)"
        var patientOwner: [String: (split: String, place: String)] = [:]
        for split in manifest.splits {
            var tables = DatasetSplit.Tables(attributeCount: manifest.attributes.count)
            var shards: [HDF5Dataset] = []
            for (index, shard) in split.shards.enumerated() {
                let path = (directory as NSString).appendingPathComponent(shard.file)
                do { try InputFile.requireRegular(path) } catch {
                    throw .invalidShard(file: path, field: "/", expected: "the shard listed as splits.\(split.name).shards[\(index)] in \(manifestPath)",
                                        found: error.reason)
                }
                let contents = try ShardReader.read(path: path, split: split.name, index: index,
                                                    expectedCount: shard.count, manifest: manifest)
                let place = "split '\(split.name)' (\(path))"
                for id in contents.sampleIDs {
                    if let first = sampleOwner[id] { throw .idInTwoPlaces(kind: "sample", id: id, first: first, second: place) }
                    sampleOwner[id] = place
                }
                for id in contents.patientIDs {
                    if let first = patientOwner[id] {
                        if first.split != split.name {
                            throw .idInTwoPlaces(kind: "patient", id: id, first: first.place, second: place)
                        }
                    } else {
                        patientOwner[id] = (split.name, place)
                    }
                }
                tables.append(contents)
                shards.append(contents.images)
            }
            let opened = DatasetSplit(name: split.name, tables: tables, shards: shards, manifest: manifest)
            try opened.checkCounts(against: split, manifestPath: manifestPath, manifest: manifest)
            splits.append(opened)
        }
        self.splits = splits
    }

    /// Reads every stored image once, to find damaged image data (a chunk that no longer
    /// decompresses); opening reads only the metadata and per-sample tables.
    /// - Throws: `DatasetError.unreadableSample` naming the shard file and the sample.
    /// - Complexity: reads and decompresses the whole dataset.
    public func readEveryImage() throws(DatasetError) {
        let size = manifest.image.height * manifest.image.width * manifest.image.channels
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: size)
        defer { buffer.deallocate() }
        for split in splits {
            for i in 0..<split.count { try split.readImage(i, into: buffer) }
        }
    }

    /// The split called `name`.
    /// - Throws: `DatasetError.unknownSplit` when the manifest has no such split.
    public func split(_ name: String) throws(DatasetError) -> DatasetSplit {
        guard let split = splits.first(where: { $0.name == name }) else {
            throw .unknownSplit(file: (directory as NSString).appendingPathComponent("manifest.json"), split: name,
                                known: splits.map(\.name))
        }
        return split
    }
}

/// One split of a prepared dataset: per-sample tables in split order (shard by shard), and image
/// reads by sample index.
public final class DatasetSplit: Sendable {
    /// Growing per-sample tables while shards are read.
    struct Tables {
        var labels: [Int] = []
        var groups: [[Int]]
        var sampleIDs: [String] = []
        var patientIDs: [String] = []
        var shardStarts: [Int] = [0]

        init(attributeCount: Int) { groups = Array(repeating: [], count: attributeCount) }

        mutating func append(_ shard: ShardContents) {
            labels += shard.labels
            for a in groups.indices { groups[a] += shard.groups[a] }
            sampleIDs += shard.sampleIDs
            patientIDs += shard.patientIDs
            shardStarts.append(labels.count)
        }
    }

    /// The split's name (train, val, test).
    public let name: String
    /// The number of samples.
    public let count: Int
    /// Class label of each sample, in [0, classes).
    public let labels: [Int]
    /// `groups[a][i]`: group id of sample i for attribute a (manifest order); -1 unknown.
    public let groups: [[Int]]
    /// Sample ids (`ids/sample`), unique in the dataset.
    public let sampleIDs: [String]
    /// Patient (or lesion) ids (`ids/patient`); none shared with another split.
    public let patientIDs: [String]
    /// Stored image height (images are uint8 HWC with 3 channels).
    public let imageHeight: Int
    /// Stored image width.
    public let imageWidth: Int
    private let shardStarts: [Int]
    private let shards: [HDF5Dataset]

    init(name: String, tables: Tables, shards: [HDF5Dataset], manifest: DatasetManifest) {
        self.name = name
        self.count = tables.labels.count
        self.labels = tables.labels
        self.groups = tables.groups
        self.sampleIDs = tables.sampleIDs
        self.patientIDs = tables.patientIDs
        self.shardStarts = tables.shardStarts
        self.shards = shards
        self.imageHeight = manifest.image.height
        self.imageWidth = manifest.image.width
    }

    /// The number of samples of each class, recomputed from the shards' labels.
    public func classCounts(classCount: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: classCount)
        for label in labels { counts[label] += 1 }
        return counts
    }

    /// `[class][group]` counts for attribute `a`, and the unknown (-1) count per class.
    public func groupCounts(attribute a: Int, classCount: Int, groupCount: Int) -> (byClass: [[Int]], unknown: [Int]) {
        var byClass = [[Int]](repeating: [Int](repeating: 0, count: groupCount), count: classCount)
        var unknown = [Int](repeating: 0, count: classCount)
        for (label, group) in zip(labels, groups[a]) {
            if group < 0 { unknown[label] += 1 } else { byClass[label][group] += 1 }
        }
        return (byClass, unknown)
    }

    func checkCounts(against split: DatasetManifest.Split, manifestPath: String, manifest: DatasetManifest) throws(DatasetError) {
        let field = "splits.\(split.name)"
        if count != split.count {
            throw .countsDisagree(file: manifestPath, field: "\(field).count", manifest: "\(split.count)", shards: "\(count)")
        }
        let classes = classCounts(classCount: manifest.task.classes.count)
        if classes != split.classCounts {
            throw .countsDisagree(file: manifestPath, field: "\(field).class_counts", manifest: "\(split.classCounts)", shards: "\(classes)")
        }
        for (a, attribute) in manifest.attributes.enumerated() {
            let recomputed = groupCounts(attribute: a, classCount: manifest.task.classes.count, groupCount: attribute.groups.count)
            let recorded = split.groupCounts[attribute.name]!
            if recomputed.byClass != recorded.byClass {
                throw .countsDisagree(file: manifestPath, field: "\(field).group_counts.\(attribute.name).by_class",
                                      manifest: "\(recorded.byClass)", shards: "\(recomputed.byClass)")
            }
            if recomputed.unknown != recorded.unknown {
                throw .countsDisagree(file: manifestPath, field: "\(field).group_counts.\(attribute.name).unknown",
                                      manifest: "\(recorded.unknown)", shards: "\(recomputed.unknown)")
            }
        }
    }

    /// Reads sample `index`'s image, uint8 (H, W, 3), into `buffer` (exactly H*W*3 bytes). Safe to
    /// call from several threads (HDF5 is built thread-safe; reads are serialised inside it).
    /// - Precondition: `0 <= index < count`.
    /// - Throws: `DatasetError.unreadableSample` naming the shard file and the sample when its data
    ///   cannot be read (a damaged or truncated file).
    public func readImage(_ index: Int, into buffer: UnsafeMutableBufferPointer<UInt8>) throws(DatasetError) {
        precondition(index >= 0 && index < count, "sample \(index) outside split '\(name)' of \(count)")
        // The shard holding `index`: the last start <= index (binary search).
        var low = 0, high = shards.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if shardStarts[mid] <= index { low = mid } else { high = mid - 1 }
        }
        do {
            try shards[low].read(into: buffer, offset: [index - shardStarts[low], 0, 0, 0], count: [1, imageHeight, imageWidth, 3])
        } catch {
            throw .unreadableSample(split: name, index: index, sampleID: sampleIDs[index], error: error)
        }
    }
}
