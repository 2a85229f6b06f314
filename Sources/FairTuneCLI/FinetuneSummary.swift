import FileOutput
import Foundation
import JSON
import Metrics
import Training

/// Stage 2's comparison, from the runs' `predictions-test.csv`: per method the test metrics of each
/// seed, their mean and standard deviation, and bootstrap intervals of the seed mean; and the
/// paired differences FairTune − each baseline.
///
/// Resampling (reproducible from the CSVs): the test rows in file order (every run must list the
/// same `sample_id`s in the same order); strata = (label, group of the attribute) in order of first
/// appearance; `StratifiedResampler` with the bootstrap seed draws each resample's multiplicities,
/// and every run of every method is evaluated on the same multiplicities. Per resample and method,
/// the metric is averaged over the seeds (undefined if undefined for a seed); an interval is the
/// percentile interval of the defined resamples; a difference is taken per resample.
struct FinetuneSummary {
    /// A number over seeds with its interval.
    struct Stat {
        var mean: Double?
        var std: Double?
        var lower: Double?
        var upper: Double?
        var definedResamples: Int
    }

    struct RunResult {
        let seed: Int
        let directory: String
        /// One per `metricKeys`.
        let values: [Double?]
    }

    struct MethodResult {
        let method: FinetunePlan.Method
        let rate: String
        let grid: [(rate: String, valAUC: Double?)]?
        let runs: [RunResult]
        /// One per `metricKeys`.
        let stats: [Stat]
    }

    struct Difference {
        let baseline: String
        let metric: String
        let estimate: Double?
        let interval: Stat
    }

    /// Metrics compared, in this order, then `auc:<group>` per group.
    static let headlineKeys = ["auc", "worst_group_auc", "auc_gap", "accuracy", "eod"]
    /// The metrics with paired differences.
    static let differenceKeys = ["worst_group_auc", "auc", "auc_gap"]

    let study: String
    let trial: Int?
    let attribute: String
    let groups: [String]
    let seeds: [Int]
    let options: BootstrapOptions
    let metricKeys: [String]
    let methods: [MethodResult]
    let differences: [Difference]
}

extension FinetuneSummary {
    /// One run's test predictions, read for the comparison.
    private struct LoadedRun {
        let seed: Int
        let directory: String
        let table: PredictionsTable
        let sampleIDs: [String]
        let evaluator: MetricsEvaluator
    }

    /// Reads every seed run of every method and computes the comparison.
    static func compute(plan: FinetunePlan, study: StudySetup, options: BootstrapOptions) throws -> FinetuneSummary {
        let loaded = try plan.methods.map { m in try plan.seeds.map { try load(plan.directory(m.name, seed: $0), seed: $0, attribute: study.attribute) } }
        let reference = loaded[0][0]
        for run in loaded.joined() where run.sampleIDs != reference.sampleIDs {
            throw FinetuneError(message: "\(run.table.path): its test samples differ from \(reference.table.path) "
                                + "(same sample_id column in the same order expected: all runs must use the same dataset)")
        }
        let groups = reference.table.attributes[0].groupNames
        let keys = headlineKeys + groups.map { "auc:\($0)" }
        let points = try loaded.map { runs in try runs.map { try values($0.evaluator.evaluate(), attribute: study.attribute) } }
        let resampled = try resample(loaded, reference: reference, attribute: study.attribute, options: options)
        let methods = try plan.methods.enumerated().map { (m, method) in
            let stats = keys.indices.map { k in
                stat(seedValues: points[m].map { $0[k] }, resampled: resampled[m][k], confidence: options.confidence)
            }
            let grid = method.hasGrid ? plan.grid(method).map { (rate: $0.rate, valAUC: $0.valAUC) } : nil
            return MethodResult(method: method, rate: try plan.chosenRate(method) ?? "?", grid: grid,
                                runs: zip(loaded[m], points[m]).map { RunResult(seed: $0.seed, directory: $0.directory, values: $1) },
                                stats: stats)
        }
        var differences: [Difference] = []
        for b in methods.indices.dropFirst() {
            for key in differenceKeys {
                let k = keys.firstIndex(of: key)!
                let paired = zip(resampled[0][k], resampled[b][k]).map { a, c in a.flatMap { x in c.map { x - $0 } } }
                var interval = stat(seedValues: [], resampled: paired, confidence: options.confidence)
                let estimate = methods[0].stats[k].mean.flatMap { a in methods[b].stats[k].mean.map { a - $0 } }
                interval.mean = estimate
                differences.append(Difference(baseline: methods[b].method.name, metric: key, estimate: estimate, interval: interval))
            }
        }
        return FinetuneSummary(study: study.path, trial: plan.methods[0].trial, attribute: study.attribute, groups: groups,
                               seeds: plan.seeds, options: options, metricKeys: keys, methods: methods, differences: differences)
    }

    private static func load(_ directory: String, seed: Int, attribute: String) throws -> LoadedRun {
        let csv = try CSVTable(path: RunFiles(directory: directory).predictions("test"))
        let scoreColumns = csv.header.contains("score") ? ["score"]
            : csv.header.filter { $0.count > 1 && $0.hasPrefix("p") && Int($0.dropFirst()) != nil }
        let table = try PredictionsTable(csv: csv, labelColumn: "label", scoreColumns: scoreColumns, groupColumns: [attribute])
        let idColumn = try csv.column("sample_id")
        return LoadedRun(seed: seed, directory: directory, table: table, sampleIDs: csv.rows.map { $0[idColumn] },
                         evaluator: try table.evaluator(kind: .probabilities, options: EvaluationOptions()))
    }

    /// The compared metrics of one report, in `metricKeys` order (nil where undefined).
    static func values(_ report: MetricsReport, attribute: String) throws -> [Double?] {
        let a = try report.attribute(attribute)
        return [report.overall.auc.doubleValue, a.summary(.auc).worst.doubleValue, a.summary(.auc).gap.doubleValue,
                report.overall.accuracy.doubleValue, a.fairness.equalizedOddsDifference.doubleValue]
            + a.groups.map { $0.auc.doubleValue }
    }

    /// [method][metric][resample]: the seed mean of the metric on each shared resample.
    private static func resample(_ loaded: [[LoadedRun]], reference: LoadedRun, attribute: String,
                                 options: BootstrapOptions) throws -> [[[Double?]]] {
        var resampler = try StratifiedResampler(labels: reference.table.labels, attributes: reference.table.attributes, seed: options.seed)
        let metricCount = headlineKeys.count + reference.table.attributes[0].groupNames.count
        var out = loaded.map { _ in [[Double?]](repeating: [], count: metricCount) }
        for _ in 0..<options.resamples {
            let multiplicities = resampler.next()
            for (m, runs) in loaded.enumerated() {
                let perSeed = try runs.map { try values($0.evaluator.evaluate(multiplicities: multiplicities), attribute: attribute) }
                for k in 0..<metricCount { out[m][k].append(mean(perSeed.map { $0[k] })) }
            }
        }
        return out
    }

    /// The mean, nil if any value is undefined (a seed-mean needs every seed).
    static func mean(_ values: [Double?]) -> Double? {
        guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else { return nil }
        return values.reduce(0) { $0 + $1! } / Double(values.count)
    }

    /// Mean and sample standard deviation (n − 1) of the seeds; percentile interval of the resamples.
    static func stat(seedValues: [Double?], resampled: [Double?], confidence: Double) -> Stat {
        let average = mean(seedValues)
        var deviation: Double?
        if let average, seedValues.count > 1 {
            let squares = seedValues.reduce(0) { $0 + ($1! - average) * ($1! - average) }
            deviation = (squares / Double(seedValues.count - 1)).squareRoot()
        }
        let sorted = resampled.compactMap { $0 }.sorted()
        let tail = (1 - confidence) / 2
        return Stat(mean: average, std: deviation, lower: sorted.isEmpty ? nil : Bootstrap.percentile(sorted, tail),
                    upper: sorted.isEmpty ? nil : Bootstrap.percentile(sorted, 1 - tail), definedResamples: sorted.count)
    }
}
