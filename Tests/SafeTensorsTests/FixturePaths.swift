import Foundation

/// Committed fixtures, found relative to this source file (Tests/Fixtures/safetensors).
enum FixturePaths {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/safetensors")

    static func path(_ name: String) -> String {
        folder.appendingPathComponent(name).path
    }

    /// A fresh empty folder under the system temporary directory for one test.
    static func makeScratchFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("SafeTensorsTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
