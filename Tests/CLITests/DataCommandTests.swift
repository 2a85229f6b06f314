import Foundation
import TestSupport
import XCTest

/// `fairtune data check` and `fairtune bench data`, run as the built binary on the committed
/// fixtures (Tests/Fixtures/data, from data-prep/fixtures/make_shard_fixtures.py).
final class DataCommandTests: XCTestCase {
    private let fixtures = TestSupport.fixtures("data")

    /// Runs the built `fairtune`; returns exit status, stdout, stderr.
    private func run(_ arguments: [String]) throws -> (Int32, String, String) {
        let r = try TestSupport.fairtune(arguments)
        return (r.status, r.stdout, r.stderr)
    }

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

    func testCheckPrintsCountsOfAValidDataset() throws {
        let (status, stdout, _) = try run(["data", "check", fixtures.appendingPathComponent("tiny").path])
        XCTAssertEqual(status, 0)
        // The counts the generator recorded in the manifest for val.
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("tiny/manifest.json"))) as! [String: Any]
        let val = (manifest["splits"] as! [String: Any])["val"] as! [String: Any]
        let classCounts = val["class_counts"] as! [Int]
        let line = stdout.split(separator: "\n").first { $0.hasPrefix("val ") && $0.contains("(all)") }
        XCTAssertNotNil(line, stdout)
        XCTAssertEqual(line?.split(separator: " ").suffix(3).map(String.init), classCounts.map(String.init) + ["\(classCounts.reduce(0, +))"])
        XCTAssertTrue(stdout.contains("test   age_binary  unknown"), stdout)
        XCTAssertTrue(stdout.contains("ok: "), stdout)
    }

    func testCheckFailsWithTheErrorOnABadDataset() throws {
        let directory = try tinyDataset(withShard: "train/shard-00001.h5", from: "label_out_of_range")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let (status, stdout, stderr) = try run(["data", "check", directory.path])
        XCTAssertEqual(status, 1)
        XCTAssertEqual(stdout, "")
        XCTAssertTrue(stderr.contains("train/shard-00001.h5: 'labels': expected values in [0, 2)"), stderr)
    }

    func testCheckReadsImagesUnlessQuick() throws {
        let directory = try tinyDataset(withShard: "val/shard-00000.h5", from: "image_data")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let (status, _, stderr) = try run(["data", "check", directory.path])
        XCTAssertEqual(status, 1)
        XCTAssertTrue(stderr.contains("val/shard-00000.h5: reading 'images' failed"), stderr)
        XCTAssertEqual(try run(["data", "check", "--quick", directory.path]).0, 0)
    }

    func testBenchDataRuns() throws {
        let (status, stdout, stderr) = try run(["bench", "data", fixtures.appendingPathComponent("tiny").path,
                                                "--size", "8", "--batch-size", "4", "--batches", "3"])
        XCTAssertEqual(status, 0, stderr)
        XCTAssertTrue(stdout.contains("read + transform + batch"), stdout)
        XCTAssertTrue(stdout.contains("checksum finite"), stdout)
    }
}
