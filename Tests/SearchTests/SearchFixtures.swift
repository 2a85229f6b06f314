import Foundation
import JSON
import Search
import TestSupport

/// Reading the Optuna fixtures of Tests/Fixtures/search (made by data-prep/fixtures/make_search_fixtures.py).
enum SearchFixtures {
    static func load(_ name: String) throws -> JSONValue {
        let url = TestSupport.fixtures("search").appendingPathComponent(name)
        return try JSONValue.parse(bytes: Array(try Data(contentsOf: url)))
    }

    static func numbers(_ value: JSONValue?) -> [Double] { value?.arrayValue?.compactMap { $0.doubleValue } ?? [] }

    static func distribution(_ value: JSONValue) -> Distribution {
        switch value["kind"]?.stringValue {
        case "categorical":
            return .categorical(choices: value["choices"]?.arrayValue?.compactMap { $0.stringValue } ?? [])
        case "int":
            return .int(low: value["low"]!.intValue!, high: value["high"]!.intValue!, step: value["step"]!.intValue!,
                        log: value["log"]!.boolValue!)
        default:
            return .float(low: value["low"]!.doubleValue!, high: value["high"]!.doubleValue!,
                          step: value["step"]?.doubleValue, log: value["log"]!.boolValue!)
        }
    }

    static func state(_ name: String?) -> TrialState {
        switch name {
        case "COMPLETE": return .complete
        case "PRUNED": return .pruned
        case "RUNNING": return .running
        case "WAITING": return .waiting
        default: return .fail
        }
    }

    /// |a − b| ≤ tolerance × max(1, |b|); infinities must be equal.
    static func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-9) -> Bool {
        if a.isInfinite || b.isInfinite { return a == b }
        return abs(a - b) <= tolerance * max(1, abs(b))
    }
}
