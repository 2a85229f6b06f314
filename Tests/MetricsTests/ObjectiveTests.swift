import XCTest
@testable import Metrics

/// Objectives return typed undefined values; invalid input throws naming the sample.
final class ObjectiveTests: XCTestCase {
    func testWorstGroupAUCNamesTheGroupWithOneClass() throws {
        let predictions = try Predictions.binary(scores: [0.9, 0.8, 0.2, 0.7, 0.1, 0.6], kind: .probabilities,
                                                 labels: [1, 1, 0, 1, 0, 0])
        let sex = try SensitiveAttribute(name: "sex", groupNames: ["F", "M"], codes: [0, 0, 1, 1, 1, -1])
        let report = try MetricsEvaluator(predictions: predictions, attributes: [sex]).evaluate()
        XCTAssertEqual(try report.value(of: .worstGroupAUC, attribute: "sex"),
                       .undefined(.groupUndefined(group: "F", reason: .oneClass(label: 1))))
        XCTAssertEqual(try report.value(of: .aucGap, attribute: "sex"),
                       .undefined(.groupUndefined(group: "F", reason: .oneClass(label: 1))))
        // Overall AUC counts the unknown-group sample: positives {.9,.8,.7} vs negatives {.2,.1,.6}: 9/9.
        XCTAssertEqual(try report.value(of: .auc), .value(1.0))
        XCTAssertEqual(report.attributes[0].unknownCount, 1)
        XCTAssertThrowsError(try report.value(of: .equalizedOddsDifference, attribute: "age")) { error in
            XCTAssertEqual(error as? MetricsError, .unknownAttribute("age", known: ["sex"]))
        }
        XCTAssertThrowsError(try report.value(of: .aucGap)) { error in
            XCTAssertEqual(error as? MetricsError, .attributeRequired(objective: "auc_gap"))
        }
    }

    func testEmptyGroupMakesGroupObjectivesUndefined() throws {
        let predictions = try Predictions.binary(scores: [0.9, 0.2, 0.7, 0.1], kind: .probabilities, labels: [1, 0, 1, 0])
        let site = try SensitiveAttribute(name: "site", groupNames: ["a", "b", "c"], codes: [0, 0, 1, 1])
        let report = try MetricsEvaluator(predictions: predictions, attributes: [site]).evaluate()
        XCTAssertEqual(try report.value(of: .maxGroupLoss, attribute: "site"),
                       .undefined(.groupUndefined(group: "c", reason: .noSamples)))
        XCTAssertEqual(report.attributes[0].fairness.emptyGroups, ["c"])
        XCTAssertEqual(try report.value(of: .demographicParityDifference, attribute: "site"), .value(0))
    }

    func testBinaryAUCHalfCreditForTies() throws {
        // scikit-learn: roc_auc_score([0,0,1,1], [.1,.5,.5,.9]) = 0.875.
        XCTAssertEqual(try ROCAUC.binary(scores: [0.1, 0.5, 0.5, 0.9], labels: [0, 0, 1, 1]), .value(0.875))
        XCTAssertEqual(try ROCAUC.binary(scores: [0.3, 0.3, 0.3], labels: [0, 1, 0]), .value(0.5))
        XCTAssertEqual(try ROCAUC.binary(scores: [0.3, 0.4], labels: [1, 1]), .undefined(.oneClass(label: 1)))
        XCTAssertEqual(try ROCAUC.binary(scores: [], labels: []), .undefined(.noSamples))
    }

    func testInvalidInputNamesTheSample() {
        XCTAssertThrowsError(try Predictions.binary(scores: [0.5, 1.5], kind: .probabilities, labels: [0, 1])) {
            XCTAssertEqual($0 as? MetricsError, .probabilityOutOfRange(sample: 1, column: 0, value: 1.5))
        }
        XCTAssertThrowsError(try Predictions.binary(scores: [0.5, 0.5], kind: .probabilities, labels: [0, 2])) {
            XCTAssertEqual($0 as? MetricsError, .labelOutOfRange(sample: 1, label: 2, classCount: 2))
        }
        XCTAssertThrowsError(try Predictions.binary(scores: [0.5, .nan], kind: .logits, labels: [0, 1])) {
            XCTAssertEqual($0 as? MetricsError, .nonFiniteScore(sample: 1, column: 0))
        }
        XCTAssertThrowsError(try Predictions.multiClass(scores: [0.5, 0.4, 0.3, 0.2, 0.2, 0.6], classCount: 3,
                                                        kind: .probabilities, labels: [0, 2])) {
            XCTAssertEqual($0 as? MetricsError, .probabilitiesDoNotSumToOne(sample: 0, sum: 1.2))
        }
        XCTAssertThrowsError(try SensitiveAttribute(name: "sex", groupNames: ["F"], codes: [0, 1])) {
            XCTAssertEqual($0 as? MetricsError, .groupCodeOutOfRange(attribute: "sex", sample: 1, code: 1, groupCount: 1))
        }
    }
}
