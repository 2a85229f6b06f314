import Foundation

/// The `manifest.json` of a prepared dataset (shard format version 1): what the shards hold and
/// how many of each kind, as data-prep wrote it.
public struct DatasetManifest: Sendable, Equatable {
    /// The `format` value of every manifest and shard.
    public static let formatName = "fairtune-shards"
    /// The only format version this reader understands.
    public static let formatVersion = 1

    /// The classification task: its name and class names (label k is `classes[k]`).
    public struct Task: Sendable, Equatable, Decodable {
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
    public struct Image: Sendable, Equatable, Decodable {
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
    public struct Normalization: Sendable, Equatable, Decodable {
        /// Three channel means.
        public var mean: [Double]
        /// Three channel standard deviations.
        public var std: [Double]
    }

    /// One shard file, relative to the dataset folder, and its sample count.
    public struct Shard: Sendable, Equatable, Decodable {
        /// Path relative to the dataset folder.
        public var file: String
        /// Samples in the shard.
        public var count: Int
    }

    /// Counts for one attribute within a split: `byClass[class][group]`, and `unknown[class]`.
    public struct GroupCounts: Sendable, Equatable, Decodable {
        /// `[class][group]` sample counts.
        public var byClass: [[Int]]
        /// Samples of each class whose group is unknown (-1).
        public var unknown: [Int]
        enum CodingKeys: String, CodingKey {
            case byClass = "by_class"
            case unknown
        }
    }

    /// One split (train, val, test): its shards and the counts data-prep recorded.
    public struct Split: Sendable, Equatable, Decodable {
        /// The split's key in `splits` (train, val, test).
        public var name: String = ""
        /// Samples in the split.
        public var count: Int
        /// Its shard files in index order.
        public var shards: [Shard]
        /// Samples per class.
        public var classCounts: [Int]
        /// Keyed by attribute name.
        public var groupCounts: [String: GroupCounts]
        enum CodingKeys: String, CodingKey {
            case count, shards
            case classCounts = "class_counts"
            case groupCounts = "group_counts"
        }
    }

    /// Who made the dataset; informational only.
    public struct Provenance: Sendable, Equatable, Decodable {
        /// The writing program and version.
        public var madeBy: String?
        /// UTC creation time.
        public var created: String?
        /// The command line that made the dataset.
        public var command: String?
        enum CodingKeys: String, CodingKey {
            case madeBy = "made_by"
            case created, command
        }
    }

    /// Always `formatName` once loaded.
    public var format: String
    /// Always `formatVersion` once loaded.
    public var formatVersion: Int
    /// The source dataset's name (ham10000, synthetic, ...).
    public var dataset: String
    /// The classification task.
    public var task: Task
    /// Sensitive attributes in the manifest's order (`attribute_order` when present, else the
    /// order of the `attributes` object in the file); group tables of batches follow it.
    public var attributes: [Attribute]
    /// The stored image geometry.
    public var image: Image
    /// Mean and std for normalising images.
    public var normalization: Normalization
    /// train, val, test first (those present), then any others in the manifest's order.
    public var splits: [Split]
    /// Who made the dataset, when and how.
    public var provenance: Provenance?

    /// The split called `name`, if present.
    public func split(named name: String) -> Split? { splits.first { $0.name == name } }
}

// MARK: - Loading

extension DatasetManifest {
    /// Reads and checks `manifest.json` at `path`: JSON structure (decoding errors name the field
    /// path), format name and version, and the manifest's own consistency (counts add up, shapes of
    /// the count tables, image layout).
    /// - Throws: `DatasetError.cannotReadManifest` or `.invalidManifest`.
    public static func load(from path: String) throws(DatasetError) -> DatasetManifest {
        let bytes: [UInt8]
        do {
            bytes = try [UInt8](Foundation.Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw .cannotReadManifest(file: path, reason: (error as NSError).localizedDescription)
        }
        return try decode(bytes, file: path)
    }

    /// Decodes and checks manifest text; `file` is used in messages.
    public static func decode(_ bytes: [UInt8], file: String) throws(DatasetError) -> DatasetManifest {
        let data = Foundation.Data(bytes)
        // The format and version first, so a newer format is reported as such, not as odd fields.
        let header: FormatHeader = try decodeReporting(FormatHeader.self, from: data, file: file)
        guard header.format == formatName else {
            throw .invalidManifest(file: file, field: "format", expected: "'\(formatName)'", found: "'\(header.format)'")
        }
        guard header.formatVersion == formatVersion else {
            throw .invalidManifest(file: file, field: "format_version", expected: "\(formatVersion) (this fairtune reads version \(formatVersion); rerun data-prep)",
                                   found: "\(header.formatVersion)")
        }
        let raw = try decodeReporting(RawManifest.self, from: data, file: file)
        // An explicit `attribute_order` (data-prep writes one) wins over the order in the text.
        let attributeOrder = raw.attributeOrder
            ?? JSONKeyOrder.keys(ofTopLevelMember: "attributes", in: bytes) ?? raw.attributes.keys.sorted()
        if attributeOrder.sorted() != raw.attributes.keys.sorted() {
            throw .invalidManifest(file: file, field: "attribute_order", expected: "the names of 'attributes' \(raw.attributes.keys.sorted()), each once",
                                   found: "\(attributeOrder)")
        }
        let splitOrder = JSONKeyOrder.keys(ofTopLevelMember: "splits", in: bytes) ?? raw.splits.keys.sorted()
        let standard = ["train", "val", "test"]
        let orderedSplits = standard.filter { raw.splits[$0] != nil } + splitOrder.filter { !standard.contains($0) }
        let manifest = DatasetManifest(
            format: raw.format, formatVersion: raw.formatVersion, dataset: raw.dataset, task: raw.task,
            attributes: attributeOrder.map { Attribute(name: $0, groups: raw.attributes[$0]!.groups) },
            image: raw.image, normalization: raw.normalization,
            splits: orderedSplits.map { name in
                var split = raw.splits[name]!
                split.name = name
                return split
            },
            provenance: raw.provenance)
        try manifest.checkConsistency(file: file)
        return manifest
    }

    private struct FormatHeader: Decodable {
        var format: String
        var formatVersion: Int
        enum CodingKeys: String, CodingKey {
            case format
            case formatVersion = "format_version"
        }
    }

    private struct RawAttribute: Decodable {
        var groups: [String]
    }

    private struct RawManifest: Decodable {
        var format: String
        var formatVersion: Int
        var dataset: String
        var task: Task
        var attributes: [String: RawAttribute]
        var attributeOrder: [String]?
        var image: Image
        var normalization: Normalization
        var splits: [String: Split]
        var provenance: Provenance?
        enum CodingKeys: String, CodingKey {
            case format, dataset, task, attributes, image, normalization, splits, provenance
            case formatVersion = "format_version"
            case attributeOrder = "attribute_order"
        }
    }

    /// Runs `JSONDecoder`, turning its errors into messages that name the field path.
    private static func decodeReporting<T: Decodable>(_ type: T.Type, from data: Foundation.Data, file: String) throws(DatasetError) -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            switch error {
            case let .keyNotFound(key, context):
                throw .invalidManifest(file: file, field: fieldPath(context.codingPath + [key]), expected: "a value", found: "no such field")
            case let .typeMismatch(expected, context):
                throw .invalidManifest(file: file, field: fieldPath(context.codingPath), expected: typeName(expected),
                                       found: "a value of another type")
            case let .valueNotFound(expected, context):
                throw .invalidManifest(file: file, field: fieldPath(context.codingPath), expected: typeName(expected), found: "null")
            case let .dataCorrupted(context):
                if context.codingPath.isEmpty {
                    throw .cannotReadManifest(file: file, reason: "not valid JSON: \(context.debugDescription)")
                }
                throw .invalidManifest(file: file, field: fieldPath(context.codingPath), expected: "a valid value",
                                       found: context.debugDescription)
            @unknown default:
                throw .cannotReadManifest(file: file, reason: "\(error)")
            }
        } catch {
            throw .cannotReadManifest(file: file, reason: "\(error)")
        }
    }

    /// `splits.train.shards[1].count` from a decoder's coding path.
    static func fieldPath(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return text.isEmpty ? "(top level)" : text
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type: return "an integer"
        case is Double.Type: return "a number"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") || name.hasPrefix("KeyedDecodingContainer") { return "an object" }
            return name
        }
    }
}

// MARK: - Consistency

extension DatasetManifest {
    /// Checks what the manifest says about itself, without opening shards.
    func checkConsistency(file: String) throws(DatasetError) {
        func bad(_ field: String, _ expected: String, _ found: String) -> DatasetError {
            .invalidManifest(file: file, field: field, expected: expected, found: found)
        }
        if task.classes.count < 2 { throw bad("task.classes", "at least 2 class names", "\(task.classes)") }
        if Set(task.classes).count != task.classes.count { throw bad("task.classes", "distinct class names", "\(task.classes)") }
        for attribute in attributes where attribute.groups.isEmpty || Set(attribute.groups).count != attribute.groups.count {
            throw bad("attributes.\(attribute.name).groups", "a non-empty list of distinct group names", "\(attribute.groups)")
        }
        if image.channels != 3 { throw bad("image.channels", "3", "\(image.channels)") }
        if image.layout != "HWC" { throw bad("image.layout", "'HWC'", "'\(image.layout)'") }
        if image.dtype != "uint8" { throw bad("image.dtype", "'uint8'", "'\(image.dtype)'") }
        if image.height < 1 || image.width < 1 {
            throw bad("image", "a positive height and width", "\(image.height)x\(image.width)")
        }
        if normalization.mean.count != 3 { throw bad("normalization.mean", "3 values", "\(normalization.mean.count)") }
        if normalization.std.count != 3 || normalization.std.contains(where: { !($0 > 0) }) {
            throw bad("normalization.std", "3 positive values", "\(normalization.std)")
        }
        if splits.isEmpty { throw bad("splits", "at least one split", "none") }
        let classCount = task.classes.count
        for split in splits {
            let field = "splits.\(split.name)"
            let shardTotal = split.shards.reduce(0) { $0 + $1.count }
            if split.count < 0 { throw bad("\(field).count", "a count >= 0", "\(split.count)") }
            if shardTotal != split.count {
                throw bad("\(field).count", "the sum of its shards' counts (\(shardTotal))", "\(split.count)")
            }
            for (s, shard) in split.shards.enumerated() {
                if shard.count < 0 { throw bad("\(field).shards[\(s)].count", "a count >= 0", "\(shard.count)") }
                if shard.file.hasPrefix("/") || shard.file.split(separator: "/").contains("..") {
                    throw bad("\(field).shards[\(s)].file", "a path inside the dataset folder", "'\(shard.file)'")
                }
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
