import Foundation
import TestSupport
import Testing

/// `fairtune data check` and `fairtune bench data`, run as the built binary on the committed
/// fixtures (Tests/Fixtures/data, from data-prep/fixtures/make_shard_fixtures.py).
@Suite struct DataCommandTests {
    private let fixtures = TestSupport.fixtures("data")

    /// A copy of the tiny dataset whose shard `shard` is replaced by the broken variant `badCase`
    /// of the fixtures; removed by the caller.
    private func tinyDataset(withShard shard: String, from badCase: String) throws -> URL {
        let fm = FileManager.default
        let directory = try TestSupport.makeTemporaryDirectory("fairtune-cli-\(badCase)").appendingPathComponent("tiny")
        try fm.copyItem(at: fixtures.appendingPathComponent("tiny"), to: directory)
        let broken = directory.appendingPathComponent(shard)
        try fm.removeItem(at: broken)
        try fm.copyItem(at: fixtures.appendingPathComponent("bad/\(badCase)/\(shard)"), to: broken)
        return directory
    }

    @Test func checkPrintsCountsOfAValidDataset() throws {
        let result = try TestSupport.fairtune(["data", "check", fixtures.appendingPathComponent("tiny").path])
        #expect(result.status == 0)
        // The counts the generator recorded in the manifest for val.
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("tiny/manifest.json"))) as! [String: Any]
        let val = (manifest["splits"] as! [String: Any])["val"] as! [String: Any]
        let classCounts = val["class_counts"] as! [Int]
        let line = try #require(result.stdout.split(separator: "\n").first { $0.hasPrefix("val ") && $0.contains("(all)") },
                                "\(result.stdout)")
        #expect(line.split(separator: " ").suffix(3).map(String.init) == classCounts.map(String.init) + ["\(classCounts.reduce(0, +))"])
        #expect(result.stdout.contains("test   age_binary  unknown"), "\(result.stdout)")
        #expect(result.stdout.contains("ok: "), "\(result.stdout)")
    }

    @Test func checkFailsWithTheErrorOnABadDataset() throws {
        let directory = try tinyDataset(withShard: "train/shard-00001.h5", from: "label_out_of_range")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let result = try TestSupport.fairtune(["data", "check", directory.path])
        #expect(result.status == 1)
        #expect(result.stdout == "")
        #expect(result.stderr.contains("train/shard-00001.h5: 'labels': expected values in [0, 2)"), "\(result.stderr)")
    }

    @Test func checkReadsImagesUnlessQuick() throws {
        let directory = try tinyDataset(withShard: "val/shard-00000.h5", from: "image_data")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let result = try TestSupport.fairtune(["data", "check", directory.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("val/shard-00000.h5: reading 'images' failed"), "\(result.stderr)")
        #expect(try TestSupport.fairtune(["data", "check", "--quick", directory.path]).status == 0)
    }

    @Test func benchDataRuns() throws {
        let result = try TestSupport.fairtune(["bench", "data", fixtures.appendingPathComponent("tiny").path,
                              "--size", "8", "--batch-size", "4", "--batches", "3"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("read + transform + batch"), "\(result.stdout)")
        #expect(result.stdout.contains("checksum finite"), "\(result.stdout)")
    }
}
