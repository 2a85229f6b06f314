import Foundation
import JSON
import Randomness
@testable import Search
import Testing

/// Optuna 5.0.0's `_ParzenEstimator` on the same observations: mixture weights, kernel means and widths,
/// categorical kernels and log densities.
@Suite struct ParzenEstimatorTests {
    @Test func matchesOptunasEstimator() throws {
        let fixture = try SearchFixtures.load("parzen.json")
        let cases = fixture["cases"]!.arrayValue!
        #expect(cases.count == 13)
        for item in cases {
            let name = item["name"]!.stringValue!
            let distributions = item["distributions"]!.arrayValue!.map(SearchFixtures.distribution)
            let observations = item["observations"]!.arrayValue!.map { SearchFixtures.numbers($0) }
            let uniform = item["uniform_weights"]!.boolValue!
            let estimator = ParzenEstimator(observations: observations, distributions: distributions,
                                            predeterminedWeights: uniform ? [Double](repeating: 1, count: observations.count) : nil)
            let weights = SearchFixtures.numbers(item["weights"])
            #expect(estimator.weights.count == weights.count, "\(name)")
            #expect(zip(estimator.weights, weights).allSatisfy { SearchFixtures.close($0, $1, 1e-12) }, "\(name) weights")
            // Equal observations (mask bits) are sorted in numpy's order, as Optuna leaves them (`NumpyArgsort`),
            // so the widths match kernel by kernel, ties included.
            for (dimension, expected) in item["kernels"]!.arrayValue!.enumerated() {
                checkKernels(estimator.kernels[dimension], expected, label: "\(name) dimension \(dimension)")
            }
            let points = item["points"]!.arrayValue!.map { SearchFixtures.numbers($0) }
            for (point, expected) in zip(points, SearchFixtures.numbers(item["log_pdf"])) {
                let ours = estimator.logDensity(point)
                #expect(SearchFixtures.close(ours, expected), "\(name) log density at \(point): \(ours) vs Optuna \(expected)")
            }
        }
    }

    func checkKernels(_ ours: ParzenKernels, _ expected: JSONValue, label: String) {
        switch ours {
        case let .categorical(rows):
            let reference = expected["categorical"]!.arrayValue!.map { SearchFixtures.numbers($0) }
            #expect(rows.count == reference.count, "\(label)")
            #expect(zip(rows.joined(), reference.joined()).allSatisfy { SearchFixtures.close($0, $1, 1e-12) }, "\(label)")
        case let .numeric(kernels):
            let mus = SearchFixtures.numbers(expected["mus"]), sigmas = SearchFixtures.numbers(expected["sigmas"])
            #expect(zip(kernels.mus, mus).allSatisfy { SearchFixtures.close($0, $1, 1e-12) } && kernels.mus.count == mus.count, "\(label) mus")
            #expect(zip(kernels.sigmas, sigmas).allSatisfy { SearchFixtures.close($0, $1, 1e-12) } && kernels.sigmas.count == sigmas.count,
                    "\(label) sigmas \(kernels.sigmas) vs \(sigmas)")
        }
    }

    /// numpy's argsort of arrays with many equal values, 1 to 300 long (beyond 256 numpy partitions first;
    /// there only the arrays whose order we reproduce are checked: continuous and already sorted ones).
    @Test func tiesAreOrderedAsNumpyDoes() throws {
        let fixture = try SearchFixtures.load("numpy_argsort.json")
        let cases = fixture["cases"]!.arrayValue!
        #expect(cases.count == 200)
        for item in cases {
            let values = SearchFixtures.numbers(item["values"]), expected = SearchFixtures.numbers(item["order"]).map { Int($0) }
            let hasTies = Set(values).count < values.count
            let isSorted = zip(values, values.dropFirst()).allSatisfy { $0 <= $1 }
            guard values.count <= 256 || !hasTies || isSorted else { continue }
            #expect(NumpyArgsort.order(values) == expected, "\(values.count) values \(values.prefix(12))…")
        }
    }

    @Test func gammaAndWeightsAreOptunas() throws {
        let fixture = try SearchFixtures.load("parzen.json")
        for (n, expected) in SearchFixtures.numbers(fixture["gamma"]).enumerated() {
            #expect(TPESampler.gamma(n, objectives: 1) == Int(expected), "gamma(\(n))")
        }
        for (n, expected) in SearchFixtures.numbers(fixture["gamma_multiobjective"]).enumerated() {
            #expect(TPESampler.gamma(n, objectives: 2) == Int(expected), "multi-objective gamma(\(n))")
        }
        for (n, expected) in fixture["default_weights"]!.arrayValue!.enumerated() {
            let ours = ParzenEstimator.defaultWeights(n), reference = SearchFixtures.numbers(expected)
            #expect(ours.count == reference.count && zip(ours, reference).allSatisfy { SearchFixtures.close($0, $1, 1e-15) }, "weights(\(n))")
        }
    }

    /// Draws follow the estimator's own density: a bit's frequency of 1 and the lr's mass below its median
    /// (4-sigma bounds over 20,000 draws).
    @Test func samplesFollowTheDensity() {
        let distributions: [Distribution] = [.int(low: 0, high: 1, step: 1, log: false), .float(low: 1e-5, high: 1e-3, step: nil, log: true),
                                             .categorical(choices: ["a", "b", "c"])]
        let observations: [[Double]] = [[1, 2e-4, 0], [1, 5e-4, 2], [0, 1e-5, 2], [1, 3e-5, 2]]
        let estimator = ParzenEstimator(observations: observations, distributions: distributions)
        var generator = SeededRandom(seed: 7)
        let draws = estimator.sample(count: 20_000, using: &generator)
        #expect(draws.allSatisfy { zip(distributions, $0).allSatisfy { $0.contains($1) } })
        let bitOnly = ParzenEstimator(observations: observations.map { [$0[0]] }, distributions: [distributions[0]])
        let probabilityOne = exp(bitOnly.logDensity([1]))
        #expect(abs(exp(bitOnly.logDensity([0])) + probabilityOne - 1) < 1e-12)
        let frequency = Double(draws.filter { $0[0] == 1 }.count) / Double(draws.count)
        let bitBound: Double = 4 * (probabilityOne * (1 - probabilityOne) / 20_000).squareRoot()
        #expect(abs(frequency - probabilityOne) < bitBound)
        let choiceOnly = ParzenEstimator(observations: observations.map { [$0[2]] }, distributions: [distributions[2]])
        let choiceTwo = exp(choiceOnly.logDensity([2]))
        let choiceFrequency = Double(draws.filter { $0[2] == 2 }.count) / Double(draws.count)
        let choiceBound: Double = 4 * (choiceTwo * (1 - choiceTwo) / 20_000).squareRoot()
        #expect(abs(choiceFrequency - choiceTwo) < choiceBound)
    }

    /// The truncated normal's quantile function inverts its distribution function, tails included.
    @Test func truncatedNormalQuantileInvertsTheMass() {
        for (a, b) in [(-1.0, 2.0), (0.5, 3.0), (-30.0, -25.0), (25.0, 40.0), (-0.2, 0.1)] {
            for q in [1e-9, 0.01, 0.3, 0.5, 0.9, 0.999999] {
                let x = TruncatedNormal.quantile(q, a: a, b: b)
                let mass = exp(TruncatedNormal.logMass(a, x) - TruncatedNormal.logMass(a, b))
                #expect(x >= a - 1e-9 && x <= b + 1e-9 && abs(mass - q) < 1e-6 * max(q, 1e-3), "q \(q) on [\(a), \(b)]: x \(x), mass \(mass)")
            }
        }
    }
}
