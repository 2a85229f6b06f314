import Foundation
import XCTest
@testable import Metrics

/// The fixtures written by data-prep/fixtures/make_metrics_fixtures.py.
enum MetricsFixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/metrics")

    static func json(_ name: String) throws -> Any {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return try JSONSerialization.jsonObject(with: data)
    }

    /// Every case of cases.json.
    static func cases() throws -> [[String: Any]] {
        let root = try XCTUnwrap(json("cases.json") as? [String: Any])
        return try XCTUnwrap(root["cases"] as? [[String: Any]])
    }

    /// The evaluator of one case, built from its inputs.
    static func evaluator(_ c: [String: Any]) throws -> MetricsEvaluator {
        let classes = try XCTUnwrap(c["classes"] as? Int)
        let kind = try XCTUnwrap(ScoreKind(rawValue: try XCTUnwrap(c["kind"] as? String)))
        let labels = try XCTUnwrap(c["labels"] as? [Int])
        let scores = try XCTUnwrap(c["scores"] as? [Double])
        let predictions = classes == 2
            ? try Predictions.binary(scores: scores, kind: kind, labels: labels)
            : try Predictions.multiClass(scores: scores, classCount: classes, kind: kind, labels: labels)
        let attributes = try XCTUnwrap(c["attributes"] as? [[String: Any]]).map { a in
            try SensitiveAttribute(name: try XCTUnwrap(a["name"] as? String),
                                   groupNames: try XCTUnwrap(a["groups"] as? [String]),
                                   codes: try XCTUnwrap(a["codes"] as? [Int]))
        }
        let threshold = try XCTUnwrap(c["threshold"] as? Double)
        return try MetricsEvaluator(predictions: predictions, attributes: attributes,
                                    options: EvaluationOptions(threshold: threshold))
    }
}

/// Asserts `actual` equals a fixture entry `{"value": x}` to 1e-9, or is undefined with the
/// fixture's reason code `{"value": null, "undefined": code}`.
func assertMetric(_ actual: MetricValue, _ expected: Any?, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    guard let entry = expected as? [String: Any] else {
        XCTFail("\(what): fixture entry missing", file: file, line: line)
        return
    }
    if let v = entry["value"] as? Double {
        guard let a = actual.doubleValue else {
            XCTFail("\(what): expected \(v), got \(actual)", file: file, line: line)
            return
        }
        XCTAssertEqual(a, v, accuracy: 1e-9, what, file: file, line: line)
    } else {
        XCTAssertEqual(actual.undefinedReason?.code, entry["undefined"] as? String, "\(what): got \(actual)", file: file, line: line)
    }
}

/// Asserts `actual` equals a plain fixture number to 1e-9, or is undefined where the fixture has null (NaN).
func assertNumberOrUndefined(_ actual: MetricValue, _ expected: Any?, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    if let v = expected as? Double {
        guard let a = actual.doubleValue else {
            XCTFail("\(what): expected \(v), got \(actual)", file: file, line: line)
            return
        }
        XCTAssertEqual(a, v, accuracy: 1e-9, what, file: file, line: line)
    } else {
        XCTAssertNil(actual.doubleValue, "\(what): fairlearn gives NaN, we give \(actual)", file: file, line: line)
    }
}
