import Foundation
import Testing
@testable import SafeTensors

/// Non-finite weights are named at load: the reference library's file, with one element of each
/// float dtype overwritten by a NaN or an infinity.
struct NonFiniteTests {
    /// NaN and +infinity bit patterns per dtype.
    static let patterns: [String: [[UInt8]]] = [
        "weight": [[0x00, 0x00, 0xC0, 0x7F], [0x00, 0x00, 0x80, 0x7F]],
        "half": [[0x00, 0x7E], [0x00, 0x7C]],
        "brain": [[0xC0, 0x7F], [0x80, 0x7F]],
        "double": [[0, 0, 0, 0, 0, 0, 0xF8, 0x7F], [0, 0, 0, 0, 0, 0, 0xF0, 0x7F]],
    ]

    @Test(arguments: ["weight", "half", "brain", "double"])
    func aNaNOrInfinityIsNamedWithItsTensorAndElement(name: String) throws {
        let original = FixturePaths.path("dtypes.safetensors")
        let reference = try SafeTensorsFile(path: original)
        let hasSpecials = try reference.floats("\(name).as_f32").contains { !$0.isFinite }
        if hasSpecials {
            #expect(throws: SafeTensorsError.self) { try reference.requireFinite(name) }
            return
        }
        try reference.requireFinite(name)
        let info = try #require(reference.info(name))
        let headerLength = Int(try Data(contentsOf: URL(fileURLWithPath: original)).prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let folder = try FixturePaths.makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for (which, pattern) in Self.patterns[name]!.enumerated() {
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: original)))
            let element = 1
            let at = 8 + headerLength + info.dataOffsets.lowerBound + element * pattern.count
            bytes.replaceSubrange(at..<(at + pattern.count), with: pattern)
            let damaged = folder.appendingPathComponent("damaged-\(which).safetensors").path
            try Data(bytes).write(to: URL(fileURLWithPath: damaged))
            let file = try SafeTensorsFile(path: damaged)
            #expect(throws: SafeTensorsError.nonFinite(file: damaged, tensor: name, element: element,
                                                       value: which == 0 ? "nan" : "inf")) {
                try file.requireFinite(name)
            }
        }
    }

    @Test func integerTensorsAreNotChecked() throws {
        let file = try SafeTensorsFile(path: FixturePaths.path("dtypes.safetensors"))
        try file.requireFinite("ids")
    }

    @Test func aFIFOInPlaceOfTheFileIsRefusedWithoutBlocking() throws {
        let folder = try FixturePaths.makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fifo = folder.appendingPathComponent("weights.safetensors").path
        #expect(mkfifo(fifo, 0o644) == 0)
        #expect(throws: SafeTensorsError.cannotOpen(file: fifo, reason: "it is a FIFO (named pipe), not a regular file")) {
            _ = try SafeTensorsFile(path: fifo)
        }
        #expect(throws: SafeTensorsError.cannotOpen(file: folder.path, reason: "it is a directory, not a file")) {
            _ = try SafeTensorsFile(path: folder.path)
        }
    }
}
