import Foundation
import TestSupport
import Testing
import Optimization
import SafeTensors

/// The PyTorch reference files written by data-prep/fixtures/make_optimizer_fixtures.py.
enum Fixtures {
    static let folder = TestSupport.fixtures("optimization")

    static func open(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(path: folder.appendingPathComponent(name).path)
    }

    /// The setting `key` of the JSON object the generator stores under metadata key "fixture".
    static func json(_ file: SafeTensorsFile, _ key: String) throws -> Any {
        let text = try #require(file.metadata["fixture"], "metadata key fixture missing in \(file.path)")
        let settings = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        return try #require(settings[key], "setting \(key) missing in \(file.path)")
    }
}

/// One tensor of the fixture model's flat buffer.
struct LayoutEntry {
    let name: String
    let offset: Int
    let count: Int
    let decay: Bool
    let trainable: Bool

    var range: Range<Int> { offset..<(offset + count) }

    static func read(_ file: SafeTensorsFile) throws -> [LayoutEntry] {
        let entries = try #require(Fixtures.json(file, "layout") as? [[String: Any]])
        return try entries.map { entry in
            LayoutEntry(name: try #require(entry["name"] as? String), offset: try #require(entry["offset"] as? Int),
                        count: try #require(entry["count"] as? Int), decay: try #require(entry["decay"] as? Bool),
                        trainable: try #require(entry["trainable"] as? Bool))
        }
    }

    /// Groups as the fixture built them for torch: decayed tensors with `weightDecay`, excluded
    /// ones with 0, frozen ones in no group.
    static func groups(_ layout: [LayoutEntry], weightDecay: Double) -> [ParameterGroup] {
        layout.filter(\.trainable).map {
            ParameterGroup(offset: $0.offset, count: $0.count, weightDecay: $0.decay ? weightDecay : 0)
        }
    }
}

/// Largest relative difference `|actual − expected| / |expected|` (0 when both are equal).
func maxRelativeDifference(_ actual: [Float], _ expected: [Float]) -> Double {
    precondition(actual.count == expected.count)
    var worst = 0.0
    for (a, b) in zip(actual, expected) where a != b {
        worst = max(worst, abs(Double(a) - Double(b)) / abs(Double(b)))
    }
    return worst
}

/// Largest difference `|actual − expected|` relative to the largest `|expected|`: for sums of
/// terms of both signs, whose near-zero elements carry their terms' rounding, not their own.
func maxScaledDifference(_ actual: [Float], _ expected: [Float]) -> Double {
    precondition(actual.count == expected.count)
    var worst = 0.0, scale = 0.0
    for (a, b) in zip(actual, expected) {
        worst = max(worst, abs(Double(a) - Double(b)))
        scale = max(scale, abs(Double(b)))
    }
    return worst == 0 ? 0 : worst / scale
}
