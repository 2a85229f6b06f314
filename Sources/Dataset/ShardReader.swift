import HDF5IO

/// The per-sample tables of one shard, read and checked against the format and the manifest.
struct ShardContents {
    /// The images dataset, kept open for reading images later: uint8 (N, H, W, 3).
    let images: HDF5Dataset
    let labels: [Int]
    /// `groups[a][i]`: sample i's group id for attribute a (manifest order), -1 unknown.
    let groups: [[Int]]
    let sampleIDs: [String]
    let patientIDs: [String]
}

/// Opens and checks one shard file (schema, root attributes, lengths, label and group ranges,
/// group names). The checks follow the shard format document, in the same order data-prep does.
enum ShardReader {
    /// - Parameters:
    ///   - path: the shard file.
    ///   - split, index, expectedCount: what the manifest says about this shard.
    /// - Throws: `DatasetError.unreadableShard` (HDF5-level: damaged file, missing dataset, wrong
    ///   element type or rank) or `.invalidShard` (content disagrees with format or manifest).
    static func read(path: String, split: String, index: Int, expectedCount: Int,
                     manifest: DatasetManifest) throws(DatasetError) -> ShardContents {
        do {
            return try readUnchecked(path: path, split: split, index: index, expectedCount: expectedCount, manifest: manifest)
        } catch let error as DatasetError {
            throw error
        } catch let error as HDF5Error {
            throw .unreadableShard(error)
        } catch {
            throw .invalidShard(file: path, field: "/", expected: "a readable shard", found: "\(error)")
        }
    }

    private static func readUnchecked(path: String, split: String, index: Int, expectedCount: Int,
                                      manifest: DatasetManifest) throws -> ShardContents {
        func bad(_ field: String, _ expected: String, _ found: String) -> DatasetError {
            .invalidShard(file: path, field: field, expected: expected, found: found)
        }
        let file = try HDF5File(path: path, mode: .readOnly)

        // Root attributes: format name and version first.
        let format = try file.readStringAttribute("format")
        if format != DatasetManifest.formatName { throw bad("/@format", "'\(DatasetManifest.formatName)'", "'\(format)'") }
        let version = try file.readAttribute("format_version", as: Int64.self)
        if version != [Int64(DatasetManifest.formatVersion)] {
            throw bad("/@format_version", "\(DatasetManifest.formatVersion)", "\(version.map(String.init).joined(separator: ","))")
        }
        let storedSplit = try file.readStringAttribute("split")
        if storedSplit != split { throw bad("/@split", "'\(split)' (as the manifest lists it)", "'\(storedSplit)'") }
        let storedIndex = try file.readAttribute("shard_index", as: Int64.self)
        if storedIndex != [Int64(index)] {
            throw bad("/@shard_index", "\(index) (its position in the manifest)", "\(storedIndex.map(String.init).joined(separator: ","))")
        }

        // Schema: element types, ranks, image geometry, equal lengths.
        let images = try file.dataset("images")
        try images.requireElementType(UInt8.self)
        let imageShape = try images.requireRank(4)
        let geometry = [manifest.image.height, manifest.image.width, manifest.image.channels]
        if Array(imageShape.dropFirst()) != geometry {
            throw bad("images", "shape (N, \(geometry.map(String.init).joined(separator: ", "))) from the manifest's image",
                      "(\(imageShape.map(String.init).joined(separator: ", ")))")
        }
        let n = imageShape[0]
        if n != expectedCount { throw bad("images", "\(expectedCount) samples (the manifest's count for this shard)", "\(n)") }

        func readIntegers(_ name: String) throws -> [Int] {
            let dataset = try file.dataset(name)
            try dataset.requireElementType(Int64.self)
            let length = try dataset.requireRank(1)[0]
            if length != n { throw bad(name, "length \(n) (as images)", "\(length)") }
            return try dataset.read(as: Int64.self).map { Int($0) }
        }
        func readStrings(_ name: String) throws -> [String] {
            let dataset = try file.dataset(name)
            let length = try dataset.requireRank(1)[0]
            if length != n { throw bad(name, "length \(n) (as images)", "\(length)") }
            return try dataset.readStrings()
        }

        let labels = try readIntegers("labels")
        var groups: [[Int]] = []
        for attribute in manifest.attributes {
            let name = "attrs/\(attribute.name)"
            groups.append(try readIntegers(name))
            let stored = try file.dataset(name).readStringsAttribute("groups")
            if stored != attribute.groups { throw bad("\(name)@groups", "the manifest's groups \(attribute.groups)", "\(stored)") }
        }
        let known = Set(manifest.attributes.map(\.name))
        if file.contains("attrs") {
            for member in try file.group("attrs").memberNames() where !known.contains(member) {
                throw bad("attrs/\(member)", "only the manifest's attributes \(manifest.attributes.map(\.name))", "an extra attribute")
            }
        }
        let sampleIDs = try readStrings("ids/sample")
        let patientIDs = try readStrings("ids/patient")

        // Ranges.
        let classCount = manifest.task.classes.count
        if let i = labels.firstIndex(where: { $0 < 0 || $0 >= classCount }) {
            throw bad("labels", "values in [0, \(classCount)) (classes \(manifest.task.classes))", "\(labels[i]) at row \(i)")
        }
        for (a, attribute) in manifest.attributes.enumerated() {
            let g = attribute.groups.count
            if let i = groups[a].firstIndex(where: { $0 < -1 || $0 >= g }) {
                throw bad("attrs/\(attribute.name)", "values in [0, \(g)) or -1 for unknown", "\(groups[a][i]) at row \(i)")
            }
        }
        return ShardContents(images: images, labels: labels, groups: groups, sampleIDs: sampleIDs, patientIDs: patientIDs)
    }
}
