import Foundation
import XCTest
@testable import Metrics

/// Every metric against scikit-learn and fairlearn on the fixture cases (random and adversarial data).
final class MetricsFixtureTests: XCTestCase {
    private func checkGroup(_ g: GroupMetrics, _ e: FixtureGroup, _ what: String) {
        XCTAssertEqual(g.sampleCount, e.samples, "\(what) samples")
        if let counts = e.class_counts { XCTAssertEqual(g.classCounts, counts, "\(what) class counts") }
        for metric in GroupMetric.allCases { assertMetric(g.value(metric), e.metric(metric), "\(what) \(metric)") }
        assertMetric(g.selectionRate, e.selection_rate, "\(what) selection rate")
    }

    func testEveryCaseMatchesScikitLearnAndFairlearn() throws {
        let cases = try MetricsFixtures.cases()
        XCTAssertGreaterThanOrEqual(cases.count, 16)
        for c in cases {
            let report = try c.evaluator().evaluate()
            checkGroup(report.overall, c.expected.overall, "\(c.name) overall")
            XCTAssertEqual(report.attributes.count, c.expected.attributes.count)
            for (a, e) in zip(report.attributes, c.expected.attributes) {
                let what = "\(c.name) \(a.name)"
                XCTAssertEqual(a.unknownCount, e.unknown_group_samples, "\(what) unknown")
                XCTAssertEqual(a.groups.count, e.groups.count)
                for (g, eg) in zip(a.groups, e.groups) { checkGroup(g, eg, "\(what) group \(g.name)") }
                checkSummaries(a, e.groups, what)
                checkFairness(a, e, classes: report.classCount, what)
            }
        }
    }

    /// Best/worst/gap from the fixture's per-group values; undefined as soon as one group is.
    private func checkSummaries(_ a: AttributeReport, _ groups: [FixtureGroup], _ what: String) {
        for metric in GroupMetric.allCases {
            let s = a.summary(metric)
            let values = groups.map { $0.metric(metric).value }
            if let missing = values.firstIndex(where: { $0 == nil }) {
                guard case let .undefined(.groupUndefined(group, _)) = s.worst else {
                    XCTFail("\(what) \(metric): expected undefined, got \(s.worst)")
                    continue
                }
                XCTAssertEqual(group, groups[missing].name)
                XCTAssertNil(s.gap.doubleValue)
                XCTAssertNil(s.best.doubleValue)
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

    private func checkFairness(_ a: AttributeReport, _ e: FixtureAttributeExpected, classes: Int, _ what: String) {
        let f = a.fairness, x = e.fairness
        if classes != 2 {
            XCTAssertEqual(x.binary_only, true)
            XCTAssertEqual(f.equalizedOddsDifference, .undefined(.binaryOnly), what)
            XCTAssertEqual(f.demographicParityDifference, .undefined(.binaryOnly), what)
            return
        }
        let present = x.groups_present!
        if present < 2 {
            // Deviation: fairlearn calls one group perfectly fair; we say a comparison needs two.
            for v in [f.equalizedOddsDifference, f.equalizedOddsRatio, f.demographicParityDifference, f.demographicParityRatio] {
                XCTAssertEqual(v, .undefined(.fewerThanTwoGroups(present: present)), what)
            }
            return
        }
        assertNumberOrUndefined(f.equalizedOddsDifference, x.eod_worst_case, "\(what) EOD worst_case")
        assertNumberOrUndefined(f.equalizedOddsDifferenceMean, x.eod_mean, "\(what) EOD mean")
        assertNumberOrUndefined(f.truePositiveRateDifference, x.tpr_difference, "\(what) TPR difference")
        assertNumberOrUndefined(f.falsePositiveRateDifference, x.fpr_difference, "\(what) FPR difference")
        assertNumberOrUndefined(f.truePositiveRateRatio, x.tpr_ratio, "\(what) TPR ratio")
        assertNumberOrUndefined(f.falsePositiveRateRatio, x.fpr_ratio, "\(what) FPR ratio")
        assertNumberOrUndefined(f.demographicParityDifference, x.dpd, "\(what) DPD")
        assertNumberOrUndefined(f.demographicParityRatio, x.dpr, "\(what) DPR")
        if x.tpr_ratio != nil && x.fpr_ratio != nil {
            assertNumberOrUndefined(f.equalizedOddsRatio, x.eor_worst_case, "\(what) EOR worst_case")
            assertNumberOrUndefined(f.equalizedOddsRatioMean, x.eor_mean, "\(what) EOR mean")
        } else {
            // Deviation: with a 0/0 component fairlearn's answer depends on Python's min argument
            // order or on pandas skipping NaN; we are undefined (so undefined wherever fairlearn is NaN).
            XCTAssertNil(f.equalizedOddsRatio.doubleValue, what)
            XCTAssertNil(f.equalizedOddsRatioMean.doubleValue, what)
        }
        // Groups whose TPR (FPR) fairlearn sets to 0 are flagged, and fairlearn's convention holds.
        let present_ = e.groups.filter { $0.samples > 0 }
        XCTAssertEqual(f.groupsWithoutPositives, present_.filter { $0.class_counts![1] == 0 }.map { $0.name! })
        XCTAssertEqual(f.groupsWithoutNegatives, present_.filter { $0.class_counts![0] == 0 }.map { $0.name! })
        for g in present_ {
            let tpr = a.groups.first { $0.name == g.name }!.truePositiveRate.doubleValue ?? 0
            XCTAssertEqual(tpr, g.fairlearn_tpr!, accuracy: 1e-9, "\(what) fairlearn TPR convention")
        }
    }

    func testPercentileMatchesNumpy() throws {
        struct Set: Decodable { let sorted: [Double]; let q: [Double]; let expected: [Double] }
        for s in try MetricsFixtures.decode([Set].self, "percentiles.json") {
            for (q, e) in zip(s.q, s.expected) {
                XCTAssertEqual(Bootstrap.percentile(s.sorted, q), e, accuracy: 1e-12, "n=\(s.sorted.count) q=\(q)")
            }
        }
    }
}
