import Foundation
import TestSupport

/// Paths of the committed loader fixtures (written by data-prep/fixtures/make_*_fixtures.py).
enum Fixtures {
    static let data = TestSupport.fixtures("data")
    static let tiny = data.appendingPathComponent("tiny").path
    static let transforms = data.appendingPathComponent("transforms.h5").path

    /// The sample number encoded in an id "s0007".
    static func number(ofSample id: String) -> Int { Int(id.dropFirst())! }

    /// The fixture pixel (see make_shard_fixtures.py): sample n, row y, column x, channel c.
    static func pixel(sample n: Int, y: Int, x: Int, c: Int) -> UInt8 {
        UInt8((n * 31 + y * 16 + x * 3 + c * 101) % 256)
    }

    /// A temporary copy of tiny/ with the overlay of bad case `name` applied; removed by the caller.
    static func badDataset(_ name: String) throws -> URL {
        let fm = FileManager.default
        let target = TestSupport.temporaryPath("fairtune-bad-\(name)")
        try fm.copyItem(atPath: tiny, toPath: target.path)
        let overlay = data.appendingPathComponent("bad/\(name)")
        let files = fm.enumerator(atPath: overlay.path)!.compactMap { $0 as? String }
        for file in files {
            var isDirectory: ObjCBool = false
            _ = fm.fileExists(atPath: overlay.appendingPathComponent(file).path, isDirectory: &isDirectory)
            if isDirectory.boolValue { continue }
            if file == "removed.txt" {
                let removed = try String(contentsOf: overlay.appendingPathComponent(file), encoding: .utf8)
                for line in removed.split(separator: "\n") { try fm.removeItem(at: target.appendingPathComponent(String(line))) }
                continue
            }
            let destination = target.appendingPathComponent(file)
            try? fm.removeItem(at: destination)
            try fm.copyItem(at: overlay.appendingPathComponent(file), to: destination)
        }
        return target
    }
}
