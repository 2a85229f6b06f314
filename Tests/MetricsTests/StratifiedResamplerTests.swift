import Foundation
import XCTest
@testable import Metrics
import Randomness

final class StratifiedResamplerTests: XCTestCase {
    /// Two models' predictions of the same samples: shared multiplicities (paired resamples).
    private func twoModels() throws -> (labels: [Int], group: SensitiveAttribute, a: MetricsEvaluator, b: MetricsEvaluator, scores: [Double]) {
        let n = 60
        let labels = (0..<n).map { ($0 * 7) % 3 == 0 ? 1 : 0 }
        let group = try SensitiveAttribute(name: "g", groupNames: ["x", "y"], codes: (0..<n).map { $0 % 5 == 0 ? -1 : $0 % 2 })
        var random = Xoshiro256(seed: 3)
        let scoresA = (0..<n).map { Double(labels[$0]) * 0.3 + Double(random.next() >> 11) * 0x1p-53 * 0.7 }
        let scoresB = (0..<n).map { Double(labels[$0]) * 0.1 + Double(random.next() >> 11) * 0x1p-53 * 0.9 }
        let a = try MetricsEvaluator(predictions: .binary(scores: scoresA, kind: .probabilities, labels: labels), attributes: [group])
        let b = try MetricsEvaluator(predictions: .binary(scores: scoresB, kind: .probabilities, labels: labels), attributes: [group])
        return (labels, group, a, b, scoresA)
    }

    /// Every stratum keeps its size, so each (class, group) cell keeps its count in every resample.
    func testResamplesKeepEveryStratumSize() throws {
        let (labels, group, _, _, _) = try twoModels()
        var resampler = try StratifiedResampler(labels: labels, attributes: [group], seed: 9)
        XCTAssertEqual(resampler.strata.count, 6)  // 2 classes × (x, y, unknown)
        XCTAssertEqual(resampler.strata.first?.first, 0)  // first-appearance order
        for _ in 0..<20 {
            let m = resampler.next()
            for stratum in resampler.strata {
                XCTAssertEqual(stratum.reduce(0.0) { $0 + m[Int($1)] }, Double(stratum.count))
            }
        }
        var again = try StratifiedResampler(labels: labels, attributes: [group], seed: 9)
        var first = try StratifiedResampler(labels: labels, attributes: [group], seed: 9)
        XCTAssertEqual(again.next(), first.next())
    }

    /// Multiplicities in the caller's order mean the same resample for any model: the evaluation equals
    /// the one of the rows written out that many times.
    func testEvaluateWithMultiplicitiesEqualsRepeatedRows() throws {
        let (labels, group, a, b, scores) = try twoModels()
        var resampler = try StratifiedResampler(labels: labels, attributes: [group], seed: 1)
        let m = resampler.next()
        let rows = m.indices.flatMap { i in [Int](repeating: i, count: Int(m[i])) }
        let repeated = try MetricsEvaluator(
            predictions: .binary(scores: rows.map { scores[$0] }, kind: .probabilities, labels: rows.map { labels[$0] }),
            attributes: [group.rows(rows)])
        assertSameReport(try a.evaluate(multiplicities: m), repeated.evaluate(), "resample")
        // The other model's report on the same multiplicities differs (a different model), yet is defined.
        XCTAssertNotEqual(try a.evaluate(multiplicities: m).overall.auc, try b.evaluate(multiplicities: m).overall.auc)
        let ones = try a.evaluate(multiplicities: [Double](repeating: 1, count: labels.count))
        assertSameReport(ones, a.evaluate(), "all ones")
        XCTAssertThrowsError(try a.evaluate(multiplicities: [1, 2]))
    }
}
