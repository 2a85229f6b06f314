import Foundation
import XCTest
@testable import Metrics

/// Every metric against scikit-learn and fairlearn on the fixture cases (random and adversarial data).
final class MetricsFixtureTests: XCTestCase {
    private let groupKeys: [(String, (GroupMetrics) -> MetricValue)] = [
        ("auc", \.auc), ("accuracy", \.accuracy), ("balanced_accuracy", \.balancedAccuracy),
        ("tpr", \.truePositiveRate), ("fpr", \.falsePositiveRate), ("selection_rate", \.selectionRate),
        ("loss", \.loss), ("ece", \.calibrationError),
    ]

    private func checkGroup(_ g: GroupMetrics, _ expected: [String: Any], _ what: String) {
        XCTAssertEqual(g.sampleCount, expected["samples"] as? Int, "\(what) samples")
        if let counts = expected["class_counts"] as? [Int] { XCTAssertEqual(g.classCounts, counts, "\(what) class counts") }
        for (key, read) in groupKeys { assertMetric(read(g), expected[key], "\(what) \(key)") }
    }

    func testEveryCaseMatchesScikitLearnAndFairlearn() throws {
        let cases = try MetricsFixtures.cases()
        XCTAssertGreaterThanOrEqual(cases.count, 15)
        for c in cases {
            let name = c["name"] as! String
            let report = try MetricsFixtures.evaluator(c).evaluate()
            let expected = c["expected"] as! [String: Any]
            checkGroup(report.overall, expected["overall"] as! [String: Any], "\(name) overall")
            let attributes = expected["attributes"] as! [[String: Any]]
            XCTAssertEqual(report.attributes.count, attributes.count)
            for (a, e) in zip(report.attributes, attributes) {
                let what = "\(name) \(a.name)"
                XCTAssertEqual(a.unknownCount, e["unknown_group_samples"] as? Int, "\(what) unknown")
                let groups = e["groups"] as! [[String: Any]]
                for (g, eg) in zip(a.groups, groups) { checkGroup(g, eg, "\(what) group \(g.name)") }
                checkSummaries(a, groups, what)
                checkFairness(a, e["fairness"] as! [String: Any], groups, classes: report.classCount, what)
            }
        }
    }

    /// Best/worst/gap from the fixture's per-group values; undefined as soon as one group is.
    private func checkSummaries(_ a: AttributeReport, _ groups: [[String: Any]], _ what: String) {
        let keys: [GroupMetric: String] = [.auc: "auc", .accuracy: "accuracy", .balancedAccuracy: "balanced_accuracy",
                                           .truePositiveRate: "tpr", .falsePositiveRate: "fpr", .loss: "loss",
                                           .calibrationError: "ece"]
        for metric in GroupMetric.allCases {
            let s = a.summary(metric)
            let values = groups.map { (($0[keys[metric]!] as! [String: Any])["value"] as? Double) }
            if let missing = values.firstIndex(where: { $0 == nil }) {
                guard case let .undefined(.groupUndefined(group, _)) = s.worst else {
                    XCTFail("\(what) \(metric): expected undefined, got \(s.worst)")
                    continue
                }
                XCTAssertEqual(group, groups[missing]["name"] as? String)
                XCTAssertNil(s.gap.doubleValue)
                continue
            }
            let v = values.map { $0! }
            let (hi, lo) = (v.max()!, v.min()!)
            XCTAssertEqual(s.best.doubleValue!, metric.higherIsBetter ? hi : lo, accuracy: 1e-9, "\(what) \(metric) best")
            XCTAssertEqual(s.worst.doubleValue!, metric.higherIsBetter ? lo : hi, accuracy: 1e-9, "\(what) \(metric) worst")
            XCTAssertEqual(s.gap.doubleValue!, hi - lo, accuracy: 1e-9, "\(what) \(metric) gap")
        }
        XCTAssertEqual(a.maxGroupLoss, a.summary(.loss).worst)
    }

    private func checkFairness(_ a: AttributeReport, _ e: [String: Any], _ groups: [[String: Any]], classes: Int, _ what: String) {
        let f = a.fairness
        if classes != 2 {
            XCTAssertEqual(f.equalizedOddsDifference, .undefined(.binaryOnly), what)
            XCTAssertEqual(f.demographicParityDifference, .undefined(.binaryOnly), what)
            return
        }
        let present = e["groups_present"] as! Int
        if present < 2 {
            // Deviation: fairlearn calls one group perfectly fair; we say a comparison needs two.
            for v in [f.equalizedOddsDifference, f.equalizedOddsRatio, f.demographicParityDifference, f.demographicParityRatio] {
                XCTAssertEqual(v, .undefined(.fewerThanTwoGroups(present: present)), what)
            }
            return
        }
        assertNumberOrUndefined(f.equalizedOddsDifference, e["eod_worst_case"], "\(what) EOD worst_case")
        assertNumberOrUndefined(f.equalizedOddsDifferenceMean, e["eod_mean"], "\(what) EOD mean")
        assertNumberOrUndefined(f.truePositiveRateDifference, e["tpr_difference"], "\(what) TPR difference")
        assertNumberOrUndefined(f.falsePositiveRateDifference, e["fpr_difference"], "\(what) FPR difference")
        assertNumberOrUndefined(f.truePositiveRateRatio, e["tpr_ratio"], "\(what) TPR ratio")
        assertNumberOrUndefined(f.falsePositiveRateRatio, e["fpr_ratio"], "\(what) FPR ratio")
        assertNumberOrUndefined(f.demographicParityDifference, e["dpd"], "\(what) DPD")
        assertNumberOrUndefined(f.demographicParityRatio, e["dpr"], "\(what) DPR")
        if e["tpr_ratio"] is Double && e["fpr_ratio"] is Double {
            assertNumberOrUndefined(f.equalizedOddsRatio, e["eor_worst_case"], "\(what) EOR worst_case")
            assertNumberOrUndefined(f.equalizedOddsRatioMean, e["eor_mean"], "\(what) EOR mean")
        } else {
            // Deviation: with a 0/0 component fairlearn's answer depends on Python's min argument
            // order or pandas skipping NaN; we are undefined. Undefined wherever fairlearn is NaN.
            XCTAssertNil(f.equalizedOddsRatio.doubleValue, what)
            XCTAssertNil(f.equalizedOddsRatioMean.doubleValue, what)
        }
        // Groups whose TPR (FPR) fairlearn sets to 0 are flagged.
        let present_ = groups.filter { ($0["samples"] as! Int) > 0 }
        XCTAssertEqual(f.groupsWithoutPositives, present_.filter { ($0["class_counts"] as! [Int])[1] == 0 }.map { $0["name"] as! String })
        XCTAssertEqual(f.groupsWithoutNegatives, present_.filter { ($0["class_counts"] as! [Int])[0] == 0 }.map { $0["name"] as! String })
        for g in present_ {
            let tpr = a.groups.first { $0.name == g["name"] as? String }!.truePositiveRate.doubleValue ?? 0
            XCTAssertEqual(tpr, g["fairlearn_tpr"] as! Double, accuracy: 1e-9, "\(what) fairlearn TPR convention")
        }
    }

    func testPercentileMatchesNumpy() throws {
        let sets = try XCTUnwrap(MetricsFixtures.json("percentiles.json") as? [[String: Any]])
        for s in sets {
            let sorted = s["sorted"] as! [Double]
            for (q, e) in zip(s["q"] as! [Double], s["expected"] as! [Double]) {
                XCTAssertEqual(Bootstrap.percentile(sorted, q), e, accuracy: 1e-12, "n=\(sorted.count) q=\(q)")
            }
        }
    }
}
