import Foundation
import XCTest

/// `fairtune data check` and `fairtune bench data`, run as the built binary on the committed
/// fixtures (Tests/Fixtures/data, from data-prep/fixtures/make_shard_fixtures.py).
final class DataCommandTests: XCTestCase {
    private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/data")

    /// Runs the `fairtune` built next to the test bundle; returns exit status, stdout, stderr.
    private func run(_ arguments: [String]) throws -> (Int32, String, String) {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var binary = products.appendingPathComponent("fairtune")
        if !FileManager.default.fileExists(atPath: binary.path) {  // when argv[0] is inside the .xctest bundle
            binary = products.deletingLastPathComponent().appendingPathComponent("fairtune")
        }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, stdout, stderr)
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
        let fm = FileManager.default
        let directory = fm.temporaryDirectory.appendingPathComponent("fairtune-cli-bad-\(UUID().uuidString)")
        try fm.copyItem(at: fixtures.appendingPathComponent("tiny"), to: directory)
        defer { try? fm.removeItem(at: directory) }
        let broken = directory.appendingPathComponent("train/shard-00001.h5")
        try fm.removeItem(at: broken)
        try fm.copyItem(at: fixtures.appendingPathComponent("bad/label_out_of_range/train/shard-00001.h5"), to: broken)
        let (status, stdout, stderr) = try run(["data", "check", directory.path])
        XCTAssertEqual(status, 1)
        XCTAssertEqual(stdout, "")
        XCTAssertTrue(stderr.contains("train/shard-00001.h5: 'labels': expected values in [0, 2)"), stderr)
    }

    func testCheckReadsImagesUnlessQuick() throws {
        let fm = FileManager.default
        let directory = fm.temporaryDirectory.appendingPathComponent("fairtune-cli-damaged-\(UUID().uuidString)")
        try fm.copyItem(at: fixtures.appendingPathComponent("tiny"), to: directory)
        defer { try? fm.removeItem(at: directory) }
        let broken = directory.appendingPathComponent("val/shard-00000.h5")
        try fm.removeItem(at: broken)
        try fm.copyItem(at: fixtures.appendingPathComponent("bad/image_data/val/shard-00000.h5"), to: broken)
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
