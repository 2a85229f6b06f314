import Foundation
import TestSupport

/// Committed fixtures (Tests/Fixtures/safetensors) and scratch folders.
enum FixturePaths {
    static let folder = TestSupport.fixtures("safetensors")

    static func path(_ name: String) -> String {
        folder.appendingPathComponent(name).path
    }

    /// A fresh empty folder under the system temporary directory for one test.
    static func makeScratchFolder() throws -> URL {
        try TestSupport.makeTemporaryDirectory("SafeTensorsTests")
    }
}
