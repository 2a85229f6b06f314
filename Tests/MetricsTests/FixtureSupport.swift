import Foundation
import TestSupport
import XCTest
@testable import Metrics

// The fixtures written by data-prep/fixtures/make_metrics_fixtures.py. Read with JSONDecoder:
// JSONSerialization on Linux can be 1 ulp off, which moves a score across a bin edge.

/// One metric as the fixture states it: a value, or null with our reason code.
struct FixtureMetric: Decodable {
    let value: Double?
    let undefined: String?
}

/// scikit-learn/fairlearn values for one group (or the whole split).
struct FixtureGroup: Decodable {
    let name: String?
    let samples: Int
    let class_counts: [Int]?
    let auc, accuracy, balanced_accuracy, tpr, fpr, selection_rate, loss, ece: FixtureMetric
    /// fairlearn's TPR (0 without positives), binary only.
    let fairlearn_tpr: Double?

    func metric(_ m: GroupMetric) -> FixtureMetric {
        switch m {
        case .auc: return auc
        case .accuracy: return accuracy
        case .balancedAccuracy: return balanced_accuracy
        case .truePositiveRate: return tpr
        case .falsePositiveRate: return fpr
        case .loss: return loss
        case .calibrationError: return ece
        }
    }
}

/// fairlearn's metrics of one attribute; nil where fairlearn gives NaN.
struct FixtureFairness: Decodable {
    let binary_only: Bool?
    let groups_present: Int?
    let eod_worst_case, eod_mean, eor_worst_case, eor_mean: Double?
    let tpr_difference, fpr_difference, tpr_ratio, fpr_ratio, dpd, dpr: Double?
}

struct FixtureAttributeExpected: Decodable {
    let name: String
    let unknown_group_samples: Int
    let groups: [FixtureGroup]
    let fairness: FixtureFairness
}

struct FixtureAttribute: Decodable {
    let name: String
    let groups: [String]
    let codes: [Int]
}

struct FixtureCase: Decodable {
    struct Expected: Decodable {
        let overall: FixtureGroup
        let attributes: [FixtureAttributeExpected]
    }
    let name: String
    let classes: Int
    let kind: String
    let threshold: Double
    let labels: [Int]
    /// [n] for binary, [n, classes] row-major otherwise.
    let scores: [Double]
    let attributes: [FixtureAttribute]
    let expected: Expected

    var columns: Int { classes == 2 ? 1 : classes }

    /// The evaluator of this case, built from its inputs.
    func evaluator() throws -> MetricsEvaluator {
        let predictions = try Predictions.scores(scores, columns: columns, kind: try XCTUnwrap(ScoreKind(rawValue: kind)), labels: labels)
        let attributes = try self.attributes.map { try SensitiveAttribute(name: $0.name, groupNames: $0.groups, codes: $0.codes) }
        return try MetricsEvaluator(predictions: predictions, attributes: attributes, options: EvaluationOptions(threshold: threshold))
    }
}

enum MetricsFixtures {
    static let directory = TestSupport.fixtures("metrics")

    static func decode<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// Every case of cases.json.
    static func cases() throws -> [FixtureCase] {
        struct File: Decodable { let cases: [FixtureCase] }
        return try decode(File.self, "cases.json").cases
    }

    static func named(_ name: String) throws -> FixtureCase {
        try XCTUnwrap(cases().first { $0.name == name })
    }
}

/// Asserts `actual` equals the fixture's value to 1e-9, or is undefined with the fixture's reason code.
func assertMetric(_ actual: MetricValue, _ expected: FixtureMetric, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    if let v = expected.value {
        guard let a = actual.doubleValue else {
            XCTFail("\(what): expected \(v), got \(actual)", file: file, line: line)
            return
        }
        XCTAssertEqual(a, v, accuracy: 1e-9, what, file: file, line: line)
    } else {
        XCTAssertEqual(actual.undefinedReason?.code, expected.undefined, "\(what): got \(actual)", file: file, line: line)
    }
}

/// Asserts `actual` equals fairlearn's number to 1e-9, or is undefined where fairlearn gives NaN (nil).
func assertNumberOrUndefined(_ actual: MetricValue, _ expected: Double?, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    if let v = expected {
        guard let a = actual.doubleValue else {
            XCTFail("\(what): expected \(v), got \(actual)", file: file, line: line)
            return
        }
        XCTAssertEqual(a, v, accuracy: 1e-9, what, file: file, line: line)
    } else {
        XCTAssertNil(actual.doubleValue, "\(what): fairlearn gives NaN, we give \(actual)", file: file, line: line)
    }
}
