import FileOutput
import JSON

/// The `manifest.json` of a prepared dataset (shard format version 1): what the shards hold and
/// how many of each kind, as data-prep wrote it.
public struct DatasetManifest: Sendable, Equatable {
    /// The `format` value of every manifest and shard.
    public static let formatName = "fairtune-shards"
    /// The only format version this reader understands.
    public static let formatVersion = 1

    /// The classification task: its name and class names (label k is `classes[k]`).
    public struct Task: Sendable, Equatable {
        /// The task's name (e.g. malignant).
        public var name: String
        /// Class names; label k is classes[k].
        public var classes: [String]
    }

    /// A sensitive attribute: group id g is `groups[g]`; -1 means unknown.
    public struct Attribute: Sendable, Equatable {
        /// The attribute's name (sex, age_binary, ...).
        public var name: String
        /// Group names; group id g is groups[g].
        public var groups: [String]
    }

    /// The stored image geometry (every image has the same).
    public struct Image: Sendable, Equatable {
        /// Stored image rows.
        public var height: Int
        /// Stored image columns.
        public var width: Int
        /// Always 3 (RGB).
        public var channels: Int
        /// Always HWC.
        public var layout: String
        /// Always uint8.
        public var dtype: String
    }

    /// Per-channel mean and standard deviation of images scaled to [0, 1].
    public struct Normalization: Sendable, Equatable {
        /// Three channel means.
        public var mean: [Double]
        /// Three channel standard deviations.
        public var std: [Double]
    }

    /// One shard file, relative to the dataset folder, and its sample count.
    public struct Shard: Sendable, Equatable {
        /// Path relative to the dataset folder.
        public var file: String
        /// Samples in the shard.
        public var count: Int
    }

    /// Counts for one attribute within a split: `byClass[class][group]`, and `unknown[class]`.
    public struct GroupCounts: Sendable, Equatable {
        /// `[class][group]` sample counts.
        public var byClass: [[Int]]
        /// Samples of each class whose group is unknown (-1).
        public var unknown: [Int]
    }

    /// One split (train, val, test): its shards and the counts data-prep recorded.
    public struct Split: Sendable, Equatable {
        /// The split's key in `splits` (train, val, test).
        public var name: String
        /// Samples in the split.
        public var count: Int
        /// Its shard files in index order.
        public var shards: [Shard]
        /// Samples per class.
        public var classCounts: [Int]
        /// Keyed by attribute name.
        public var groupCounts: [String: GroupCounts]
    }

    /// Who made the dataset; informational only.
    public struct Provenance: Sendable, Equatable {
        /// The writing program and version.
        public var madeBy: String?
        /// UTC creation time.
        public var created: String?
        /// The command line that made the dataset.
        public var command: String?
    }

    /// Always `formatName` once loaded.
    public var format: String
    /// Always `formatVersion` once loaded.
    public var formatVersion: Int
    /// The source dataset's name (ham10000, synthetic, ...).
    public var dataset: String
    /// The classification task.
    public var task: Task
    /// Sensitive attributes in the order of the `attributes` object in the file (which
    /// `attribute_order`, when present, must repeat); group tables of batches follow it.
    public var attributes: [Attribute]
    /// The stored image geometry.
    public var image: Image
    /// Mean and std for normalising images.
    public var normalization: Normalization
    /// train, val, test, in that order.
    public var splits: [Split]
    /// Who made the dataset, when and how.
    public var provenance: Provenance?

    /// The split called `name`, if present.
    public func split(named name: String) -> Split? { splits.first { $0.name == name } }
}

// MARK: - Loading

extension DatasetManifest {
    /// Reads and checks `manifest.json` at `path` (a regular file): the rules of
    /// docs/shard-format.md, in the order data-prep's checker applies them, each failure naming the
    /// field path (`splits.train.shards[1].count`) and what was expected versus found.
    /// - Throws: `DatasetError.cannotReadManifest` or `.invalidManifest`.
    public static func load(from path: String) throws(DatasetError) -> DatasetManifest {
        let bytes: [UInt8]
        do { bytes = try InputFile.readAll(path) } catch { throw .cannotReadManifest(file: path, reason: error.reason) }
        return try decode(bytes, file: path)
    }

    /// Decodes and checks manifest text; `file` is used in messages.
    public static func decode(_ bytes: [UInt8], file: String) throws(DatasetError) -> DatasetManifest {
        let json: JSONValue
        do { json = try JSONValue.parse(bytes: bytes) } catch {
            throw .cannotReadManifest(file: file, reason: "not valid JSON: \(error)")
        }
        let fields = ManifestFields(file: file)
        let top = try fields.object(json, "(top level)")
        let format = try fields.string(top["format"], "format")
        guard format == formatName else { throw fields.bad("format", "'\(formatName)'", top["format"]) }
        guard top["format_version"]?.intValue == formatVersion else {
            throw fields.bad("format_version", "\(formatVersion) (this fairtune reads version \(formatVersion); rerun data-prep)",
                             top["format_version"])
        }
        let task = try fields.object(top["task"], "task")
        let attributes = try readAttributes(top, fields)
        let manifest = DatasetManifest(
            format: format, formatVersion: formatVersion, dataset: try fields.name(top["dataset"], "dataset"),
            task: Task(name: try fields.string(task["name"], "task.name"),
                       classes: try fields.names(task["classes"], "task.classes", atLeast: 2)),
            attributes: attributes, image: try readImage(top, fields), normalization: try readNormalization(top, fields),
            splits: try readSplits(top, fields), provenance: readProvenance(top))
        try manifest.checkConsistency(file: file)
        return manifest
    }

    private static func readAttributes(_ top: JSONValue, _ fields: ManifestFields) throws(DatasetError) -> [Attribute] {
        var attributes: [Attribute] = []
        for (name, value) in try fields.members(top["attributes"], "attributes") {
            let groups = try fields.names(fields.object(value, "attributes.\(name)")["groups"], "attributes.\(name).groups", atLeast: 1)
            attributes.append(Attribute(name: name, groups: groups))
        }
        if let order = top["attribute_order"] {
            let names = attributes.map(\.name)
            guard order.arrayValue?.map(\.stringValue) == names else {
                throw fields.bad("attribute_order", "the attribute names in the order of 'attributes' \(names)", order)
            }
        }
        return attributes
    }

    private static func readImage(_ top: JSONValue, _ fields: ManifestFields) throws(DatasetError) -> Image {
        let image = try fields.object(top["image"], "image")
        return Image(height: try fields.integer(image["height"], "image.height", atLeast: 1),
                     width: try fields.integer(image["width"], "image.width", atLeast: 1),
                     channels: try fields.integer(image["channels"], "image.channels", atLeast: 0),
                     layout: try fields.string(image["layout"], "image.layout"),
                     dtype: try fields.string(image["dtype"], "image.dtype"))
    }

    private static func readNormalization(_ top: JSONValue, _ fields: ManifestFields) throws(DatasetError) -> Normalization {
        let normalization = try fields.object(top["normalization"], "normalization")
        return Normalization(mean: try fields.numbers(normalization["mean"], "normalization.mean", count: 3),
                             std: try fields.numbers(normalization["std"], "normalization.std", count: 3))
    }

    private static func readSplits(_ top: JSONValue, _ fields: ManifestFields) throws(DatasetError) -> [Split] {
        let members = try fields.members(top["splits"], "splits")
        let standard = ["train", "val", "test"]
        guard members.map(\.0).sorted() == standard.sorted() else {
            throw fields.bad("splits", "exactly the splits \(standard)", top["splits"].map { _ in .array(members.map { .string($0.0) }) })
        }
        var splits: [Split] = []
        for name in standard {
            let field = "splits.\(name)"
            let split = try fields.object(top["splits"]?[name], field)
            var shards: [Shard] = []
            for (i, shard) in try fields.array(split["shards"], "\(field).shards").enumerated() {
                let shardField = "\(field).shards[\(i)]"
                shards.append(Shard(file: try fields.string(fields.object(shard, shardField)["file"], "\(shardField).file"),
                                    count: try fields.integer(shard["count"], "\(shardField).count", atLeast: 1)))
            }
            var groupCounts: [String: GroupCounts] = [:]
            for (attribute, counts) in try fields.members(split["group_counts"], "\(field).group_counts") {
                let countsField = "\(field).group_counts.\(attribute)"
                let table = try fields.object(counts, countsField)
                groupCounts[attribute] = GroupCounts(
                    byClass: try fields.array(table["by_class"], "\(countsField).by_class").enumerated().map { (c, row) throws(DatasetError) in
                        try fields.counts(row, "\(countsField).by_class[\(c)]")
                    },
                    unknown: try fields.counts(table["unknown"], "\(countsField).unknown"))
            }
            splits.append(Split(name: name, count: try fields.integer(split["count"], "\(field).count", atLeast: 1), shards: shards,
                                classCounts: try fields.counts(split["class_counts"], "\(field).class_counts"),
                                groupCounts: groupCounts))
        }
        return splits
    }

    private static func readProvenance(_ top: JSONValue) -> Provenance? {
        guard let provenance = top["provenance"] else { return nil }
        return Provenance(madeBy: provenance["made_by"]?.stringValue, created: provenance["created"]?.stringValue,
                          command: provenance["command"]?.stringValue)
    }
}

// MARK: - Consistency

extension DatasetManifest {
    /// Checks what the manifest says about itself, without opening shards.
    func checkConsistency(file: String) throws(DatasetError) {
        func bad(_ field: String, _ expected: String, _ found: String) -> DatasetError {
            .invalidManifest(file: file, field: field, expected: expected, found: found)
        }
        // Names, types and signs were checked while reading; here the fields' relations.
        if image.channels != 3 { throw bad("image.channels", "3", "\(image.channels)") }
        if image.layout != "HWC" { throw bad("image.layout", "'HWC'", "'\(image.layout)'") }
        if image.dtype != "uint8" { throw bad("image.dtype", "'uint8'", "'\(image.dtype)'") }
        if normalization.std.contains(where: { !($0 > 0) }) {
            throw bad("normalization.std", "3 positive numbers", "\(normalization.std)")
        }
        let classCount = task.classes.count
        for split in splits {
            let field = "splits.\(split.name)"
            if split.shards.isEmpty { throw bad("\(field).shards", "a non-empty list", "[]") }
            for (s, shard) in split.shards.enumerated() {
                let name = "\(split.name)/shard-" + String(repeating: "0", count: max(0, 5 - String(s).count)) + "\(s).h5"
                if shard.file != name { throw bad("\(field).shards[\(s)].file", "'\(name)'", "'\(shard.file)'") }
            }
            let shardTotal = split.shards.reduce(0) { $0 + $1.count }
            if shardTotal != split.count {
                throw bad("\(field).count", "the sum of its shards' counts (\(shardTotal))", "\(split.count)")
            }
            if split.classCounts.count != classCount {
                throw bad("\(field).class_counts", "\(classCount) counts (one per class)", "\(split.classCounts.count)")
            }
            if split.classCounts.reduce(0, +) != split.count {
                throw bad("\(field).class_counts", "counts adding up to the split's count \(split.count)", "\(split.classCounts)")
            }
            let names = attributes.map(\.name)
            if Set(split.groupCounts.keys) != Set(names) {
                throw bad("\(field).group_counts", "one entry per attribute \(names)", "\(split.groupCounts.keys.sorted())")
            }
            for attribute in attributes {
                let counts = split.groupCounts[attribute.name]!
                let countsField = "\(field).group_counts.\(attribute.name)"
                if counts.byClass.count != classCount || counts.byClass.contains(where: { $0.count != attribute.groups.count }) {
                    throw bad("\(countsField).by_class", "a \(classCount) x \(attribute.groups.count) table (class x group)",
                              "\(counts.byClass)")
                }
                if counts.unknown.count != classCount {
                    throw bad("\(countsField).unknown", "\(classCount) counts (one per class)", "\(counts.unknown.count)")
                }
                for c in 0..<classCount where counts.byClass[c].reduce(0, +) + counts.unknown[c] != split.classCounts[c] {
                    throw bad("\(countsField)", "class \(c)'s group counts plus unknown to equal its class count \(split.classCounts[c])",
                              "\(counts.byClass[c]) + unknown \(counts.unknown[c])")
                }
            }
        }
    }
}
