import Foundation
import Randomness
import XCTest
@testable import Metrics

/// Every number of a report, named, for comparing two reports.
func flatten(_ r: MetricsReport) -> [(String, MetricValue)] {
    func group(_ prefix: String, _ g: GroupMetrics) -> [(String, MetricValue)] {
        GroupMetric.allCases.map { ("\(prefix) \($0)", g.value($0)) } + [("\(prefix) selection", g.selectionRate)]
    }
    var out = group("overall", r.overall)
    for a in r.attributes {
        for g in a.groups { out += group("\(a.name)/\(g.name)", g) }
        for s in a.summaries { out += [("\(a.name) \(s.metric) worst", s.worst), ("\(a.name) \(s.metric) gap", s.gap)] }
        let f = a.fairness
        out += [("\(a.name) eod", f.equalizedOddsDifference), ("\(a.name) eor", f.equalizedOddsRatio),
                ("\(a.name) dpd", f.demographicParityDifference), ("\(a.name) dpr", f.demographicParityRatio)]
    }
    return out
}

func assertSameReport(_ a: MetricsReport, _ b: MetricsReport, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    let (x, y) = (flatten(a), flatten(b))
    XCTAssertEqual(x.count, y.count, file: file, line: line)
    for ((name, u), (_, v)) in zip(x, y) {
        switch (u, v) {
        case let (.value(p), .value(q)): XCTAssertEqual(p, q, accuracy: 1e-12, "\(what) \(name)", file: file, line: line)
        default: XCTAssertEqual(u, v, "\(what) \(name)", file: file, line: line)
        }
    }
}

final class BootstrapTests: XCTestCase {
    /// A resample evaluated through multiplicity weights equals the evaluation of the resample
    /// written out sample by sample (the bootstrap's fast path against the plain one).
    func testWeightedResampleEqualsMaterializedResample() throws {
        for c in try MetricsFixtures.cases() {
            let evaluator = try c.evaluator()
            let n = evaluator.split.sampleCount
            var generator = Xoshiro256(seed: 11)
            var weights = [Double](repeating: 0, count: n)
            var rows: [Int] = []
            for _ in 0..<n {
                let i = Int(generator.next(below: UInt64(n)))
                weights[i] += 1
                rows.append(i)
            }
            let resampledScores = rows.flatMap { c.scores[($0 * c.columns)..<(($0 + 1) * c.columns)] }
            let predictions = try Predictions.scores(resampledScores, columns: c.columns, kind: ScoreKind(rawValue: c.kind)!,
                                                     labels: rows.map { c.labels[$0] })
            let attributes = try evaluator.attributes.map { a in
                try SensitiveAttribute(name: a.name, groupNames: a.groupNames, codes: rows.map { Int(a.codes[$0]) })
            }
            let materialized = try MetricsEvaluator(predictions: predictions, attributes: attributes, options: evaluator.options).evaluate()
            var workspace = MetricsEvaluator.Workspace(split: evaluator.split)
            let atPositions = evaluator.split.sampleAtPosition.map { weights[Int($0)] }
            assertSameReport(evaluator.report(weights: atPositions, workspace: &workspace), materialized, c.name)
        }
    }

    func testSameSeedSameIntervalsAndStrataKeepGroupsMeasurable() throws {
        let evaluator = try MetricsFixtures.named("random_binary_two_attributes").evaluator()
        let options = BootstrapOptions(resamples: 200, seed: 5, confidence: 0.9)
        let first = try evaluator.bootstrap(options)
        XCTAssertEqual(first, try evaluator.bootstrap(options))
        XCTAssertNotEqual(first, try evaluator.bootstrap(BootstrapOptions(resamples: 200, seed: 6, confidence: 0.9)))
        // overall 3 + per attribute (2) 5 headline objectives
        XCTAssertEqual(first.count, 3 + 2 * 5)
        let report = evaluator.evaluate()
        for interval in first {
            XCTAssertEqual(interval.definedResamples, 200, "\(interval.objective)")
            XCTAssertEqual(interval.estimate, try report.value(of: interval.objective, attribute: interval.attribute))
            let (lo, hi) = (interval.lower.doubleValue!, interval.upper.doubleValue!)
            XCTAssertLessThanOrEqual(lo, hi)
        }
        let auc = first.first { $0.objective == .auc }!
        XCTAssertLessThan(auc.lower.doubleValue!, auc.estimate.doubleValue!)
        XCTAssertGreaterThan(auc.upper.doubleValue!, auc.estimate.doubleValue!)
    }

    func testUndefinedObjectiveStaysUndefinedInEveryResample() throws {
        let intervals = try MetricsFixtures.named("tiny_and_one_class_groups").evaluator().bootstrap(BootstrapOptions(resamples: 50, seed: 1))
        let worst = intervals.first { $0.objective == .worstGroupAUC }!
        XCTAssertEqual(worst.definedResamples, 0)
        XCTAssertEqual(worst.lower, .undefined(.noDefinedResamples(resamples: 50)))
        XCTAssertEqual(worst.estimate, .undefined(.groupUndefined(group: "g0", reason: .oneClass(label: 1))))
    }

    func testXoshiroIsUniformEnough() {
        var g = Xoshiro256(seed: 42)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { counts[Int(g.next(below: 7))] += 1 }
        for c in counts { XCTAssertEqual(Double(c), 10_000, accuracy: 400) }
    }
}
