import Dataset
import Foundation
import HDF5IO
import XCTest

/// Opening the h5py-written fixture dataset: tables and images read back equal to what the
/// generator wrote, and every bad-input variant fails with its clear error.
final class PreparedDatasetTests: XCTestCase {
    func testManifestDecodesInFileOrder() throws {
        let dataset = try PreparedDataset(directory: Fixtures.tiny)
        let m = dataset.manifest
        XCTAssertEqual(m.format, "fairtune-shards")
        XCTAssertEqual(m.formatVersion, 1)
        XCTAssertEqual(m.dataset, "tiny")
        XCTAssertEqual(m.task.classes, ["benign", "malignant"])
        XCTAssertEqual(dataset.attributeNames, ["sex", "age_binary"])  // JSON order, not sorted
        XCTAssertEqual(m.attributes[1].groups, ["<=60", ">60"])
        XCTAssertEqual(m.splits.map(\.name), ["train", "val", "test"])
        XCTAssertEqual([m.image.height, m.image.width], [12, 16])
        XCTAssertEqual(m.normalization.std, [0.229, 0.224, 0.225])
        XCTAssertEqual(m.splits[0].shards.map(\.count), [10, 6])
    }

    func testTablesAndImagesReadBackEqual() throws {
        let dataset = try PreparedDataset(directory: Fixtures.tiny)
        // The generator numbers samples consecutively over train, val, test.
        var number = 0
        for split in dataset.splits {
            XCTAssertEqual(split.count, split.sampleIDs.count)
            var image = [UInt8](repeating: 0, count: 12 * 16 * 3)
            for i in 0..<split.count {
                XCTAssertEqual(split.sampleIDs[i], String(format: "s%04d", number))
                XCTAssertEqual(split.patientIDs[i].first, "p")
                try image.withUnsafeMutableBufferPointer { try split.readImage(i, into: $0) }
                var mismatches = 0
                for y in 0..<12 { for x in 0..<16 { for c in 0..<3
                    where image[(y * 16 + x) * 3 + c] != Fixtures.pixel(sample: number, y: y, x: x, c: c) { mismatches += 1 } } }
                XCTAssertEqual(mismatches, 0, "sample \(split.sampleIDs[i])")
                number += 1
            }
        }
        XCTAssertEqual(number, 28)
        // Labels and groups against h5py's own files, read through HDF5IO directly.
        let train = try dataset.split("train")
        let shard = try HDF5File(path: Fixtures.tiny + "/train/shard-00001.h5")
        XCTAssertEqual(Array(train.labels[10...]), try shard.dataset("labels").read(as: Int64.self).map { Int($0) })
        XCTAssertEqual(Array(train.groups[1][10...]), try shard.dataset("attrs/age_binary").read(as: Int64.self).map { Int($0) })
        XCTAssertTrue(train.groups[0].contains(-1), "the fixture has unknown groups")
        // The recomputed counts are the manifest's (open checks them; this shows they are non-trivial).
        let recorded = dataset.manifest.split(named: "train")!
        XCTAssertEqual(train.classCounts(classCount: 2), recorded.classCounts)
        XCTAssertEqual(train.groupCounts(attribute: 0, classCount: 2, groupCount: 2).byClass, recorded.groupCounts["sex"]!.byClass)
    }

    func testUnknownSplitIsAnError() throws {
        let dataset = try PreparedDataset(directory: Fixtures.tiny)
        XCTAssertThrowsError(try dataset.split("holdout")) { error in
            XCTAssertTrue("\(error)".contains("no split 'holdout' (the dataset has train, val, test)"), "\(error)")
        }
    }

    /// Opens bad case `name` and checks the error's case and that its message holds each fragment.
    private func expectFailure(_ name: String, _ fragments: [String], line: UInt = #line,
                               matches: (DatasetError) -> Bool) throws {
        let directory = try Fixtures.badDataset(name)
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            _ = try PreparedDataset(directory: directory.path)
            XCTFail("\(name): opened without error", line: line)
        } catch {
            XCTAssertTrue(matches(error), "\(name): unexpected error case \(error)", line: line)
            let message = error.description
            for fragment in fragments {
                XCTAssertTrue(message.contains(fragment), "\(name): '\(message)' lacks '\(fragment)'", line: line)
            }
        }
    }

    func testMissingDataset() throws {
        try expectFailure("missing_dataset", ["val/shard-00000.h5", "'labels' not found"]) {
            if case .unreadableShard(.missingObject(_, "labels")) = $0 { return true } else { return false }
        }
    }

    func testWrongDtype() throws {
        try expectFailure("wrong_dtype", ["val/shard-00000.h5", "'labels'", "int32", "expected int64"]) {
            if case .unreadableShard(.wrongElementType) = $0 { return true } else { return false }
        }
    }

    func testWrongRank() throws {
        try expectFailure("wrong_rank", ["train/shard-00001.h5", "'labels'", "[6, 1]", "expected rank 1"]) {
            if case .unreadableShard(.wrongRank) = $0 { return true } else { return false }
        }
    }

    func testWrongImageSize() throws {
        try expectFailure("wrong_image_size", ["test/shard-00000.h5", "'images'", "(N, 12, 16, 3)", "(6, 12, 15, 3)"]) {
            if case .invalidShard(_, "images", _, _) = $0 { return true } else { return false }
        }
    }

    func testLabelOutOfRange() throws {
        try expectFailure("label_out_of_range", ["train/shard-00001.h5", "'labels'", "[0, 2)", "2 at row 3"]) {
            if case .invalidShard(_, "labels", _, _) = $0 { return true } else { return false }
        }
    }

    func testGroupOutOfRange() throws {
        try expectFailure("group_out_of_range", ["test/shard-00000.h5", "'attrs/age_binary'", "-1 for unknown", "-2 at row 2"]) {
            if case .invalidShard(_, "attrs/age_binary", _, _) = $0 { return true } else { return false }
        }
    }

    func testGroupNamesDiffer() throws {
        try expectFailure("group_names", ["val/shard-00000.h5", "'attrs/sex@groups'", "[\"F\", \"M\"]", "[\"female\", \"male\"]"]) {
            if case .invalidShard(_, "attrs/sex@groups", _, _) = $0 { return true } else { return false }
        }
    }

    func testShardCountDisagreesWithManifest() throws {
        // The manifest's shard count no longer adds up to the split count: caught in the manifest.
        try expectFailure("shard_count", ["manifest.json", "splits.train.count", "sum of its shards' counts (17)", "found 16"]) {
            if case .invalidManifest(_, "splits.train.count", _, _) = $0 { return true } else { return false }
        }
    }

    func testClassCountsDisagree() throws {
        try expectFailure("class_counts", ["manifest.json", "splits.val.class_counts", "but the shards hold"]) {
            if case .countsDisagree(_, "splits.val.class_counts", _, _) = $0 { return true } else { return false }
        }
    }

    /// The fixture moves a sample from one group to another with a negative count (-1): the
    /// manifest's own rule (counts >= 0) fails first, as in data-prep's checker.
    func testGroupCountsDisagree() throws {
        try expectFailure("group_counts", ["manifest.json", "splits.test.group_counts.sex.by_class[0]", "integers >= 0", "[2, -1]"]) {
            if case .invalidManifest(_, "splits.test.group_counts.sex.by_class[0]", _, _) = $0 { return true } else { return false }
        }
    }

    func testTruncatedShard() throws {
        try expectFailure("truncated_shard", ["train/shard-00000.h5", "cannot open as HDF5", "truncated"]) {
            if case .unreadableShard(.cannotOpen) = $0 { return true } else { return false }
        }
    }

    func testPatientInTwoSplits() throws {
        try expectFailure("patient_in_two_splits", ["patient id 'p000'", "split 'train'", "split 'test'", "train/shard-00000.h5"]) {
            if case .idInTwoPlaces(kind: "patient", _, _, _) = $0 { return true } else { return false }
        }
    }

    func testSampleInTwoSplits() throws {
        try expectFailure("sample_in_two_splits", ["sample id 's0017'", "split 'val'", "split 'test'"]) {
            if case .idInTwoPlaces(kind: "sample", _, _, _) = $0 { return true } else { return false }
        }
    }

    func testUnknownFormatVersion() throws {
        try expectFailure("format_version", ["manifest.json", "format_version", "found 2"]) {
            if case .invalidManifest(_, "format_version", _, _) = $0 { return true } else { return false }
        }
    }

    func testShardFormatName() throws {
        try expectFailure("shard_format", ["val/shard-00000.h5", "'/@format'", "'fairtune-shards'", "'something-else'"]) {
            if case .invalidShard(_, "/@format", _, _) = $0 { return true } else { return false }
        }
    }

    func testMissingManifestFieldNamesItsPath() throws {
        try expectFailure("manifest_field", ["manifest.json", "field 'splits.val.class_counts'", "no such field"]) {
            if case .invalidManifest(_, "splits.val.class_counts", _, _) = $0 { return true } else { return false }
        }
    }

    func testMissingShardFile() throws {
        try expectFailure("missing_shard", ["test/shard-00000.h5", "splits.test.shards[0]", "no such file"]) {
            if case .invalidShard(_, "/", _, _) = $0 { return true } else { return false }
        }
    }

    func testDamagedImageDataIsFoundByReadingEveryImage() throws {
        let directory = try Fixtures.badDataset("image_data")
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataset = try PreparedDataset(directory: directory.path)  // metadata is intact
        XCTAssertNoThrow(try PreparedDataset(directory: Fixtures.tiny).readEveryImage())
        XCTAssertThrowsError(try dataset.readEveryImage()) { error in
            guard case .unreadableSample("val", _, _, .readFailed(let file, "images", _)) = error as! DatasetError else { return XCTFail("\(error)") }
            XCTAssertTrue(file.hasSuffix("val/shard-00000.h5"), file)
            XCTAssertTrue("\(error)".contains("may be damaged"), "\(error)")
        }
    }

    func testManifestTypeErrorNamesFieldPath() {
        let text = #"{"format": "fairtune-shards", "format_version": 1, "dataset": "x", "task": {"name": "t", "classes": ["a", "b"]},"#
            + #""attributes": {}, "image": {"height": "tall", "width": 4, "channels": 3, "layout": "HWC", "dtype": "uint8"},"#
            + #""normalization": {"mean": [0, 0, 0], "std": [1, 1, 1]}, "splits": {}}"#
        XCTAssertThrowsError(try DatasetManifest.decode(Array(text.utf8), file: "m.json")) { error in
            guard case let .invalidManifest(file, field, expected, _) = error as! DatasetError else { return XCTFail("\(error)") }
            XCTAssertEqual([file, field, expected], ["m.json", "image.height", "a positive integer"])
        }
        XCTAssertThrowsError(try DatasetManifest.decode(Array("{not json".utf8), file: "m.json")) { error in
            XCTAssertTrue("\(error)".hasPrefix("m.json: cannot read the dataset manifest (not valid JSON"), "\(error)")
        }
    }

    func testAttributeOrderMustRepeatTheAttributesInFileOrder() throws {
        let text = try String(contentsOfFile: Fixtures.tiny + "/manifest.json", encoding: .utf8)
        func decode(order: String) throws -> DatasetManifest {
            let edited = "{\"attribute_order\": \(order)," + text.dropFirst()
            return try DatasetManifest.decode(Array(edited.utf8), file: "m.json")
        }
        XCTAssertEqual(try decode(order: #"["sex", "age_binary"]"#).attributes.map(\.name), ["sex", "age_binary"])
        for order in [#"["age_binary", "sex"]"#, #"["sex"]"#] {
            XCTAssertThrowsError(try decode(order: order)) { error in
                XCTAssertTrue("\(error)".hasPrefix("m.json: field 'attribute_order': expected the attribute names in the order of 'attributes'"), "\(error)")
            }
        }
    }

    /// Valid JSON with a wrong value names the field and shows the value (not "not valid JSON").
    func testNonIntegerCountsAndNonFiniteNumbersNameTheField() throws {
        let text = try String(contentsOfFile: Fixtures.tiny + "/manifest.json", encoding: .utf8)
        let cases: [(String, String, String, String)] = [
            ("\"count\": 16,", "\"count\": 16.5,", "splits.train.count", "expected a positive integer, found 16.5"),
            ("0.485", "NaN", "normalization.mean", "expected 3 finite numbers, found [NaN,"),
        ]
        for (original, replacement, field, words) in cases {
            guard let range = text.range(of: original) else { return XCTFail("\(original) not in the fixture manifest") }
            var edited = text
            edited.replaceSubrange(range, with: replacement)
            XCTAssertThrowsError(try DatasetManifest.decode(Array(edited.utf8), file: "m.json")) { error in
                XCTAssertTrue("\(error)".contains("field '\(field)'") && "\(error)".contains(words), "\(error)")
            }
        }
    }

    func testMissingManifestFile() {
        XCTAssertThrowsError(try PreparedDataset(directory: "/nonexistent-fairtune-dataset")) { error in
            guard case .cannotReadManifest(let file, _) = error as! DatasetError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "/nonexistent-fairtune-dataset/manifest.json")
        }
    }
}
