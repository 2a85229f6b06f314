import Randomness

/// Settings of the percentile bootstrap.
public struct BootstrapOptions: Sendable {
    /// How many resamples to draw.
    public var resamples: Int
    /// Seed of the xoshiro256** generator; with the same rows in the same order, the same intervals.
    public var seed: UInt64
    /// Central coverage of the interval, e.g. 0.95 for the 2.5th to 97.5th percentile.
    public var confidence: Double

    /// Defaults: 1000 resamples, seed 0, 95% intervals.
    public init(resamples: Int = 1000, seed: UInt64 = 0, confidence: Double = 0.95) {
        self.resamples = resamples
        self.seed = seed
        self.confidence = confidence
    }
}

/// A percentile bootstrap interval of one headline objective.
public struct BootstrapInterval: Sendable, Equatable {
    /// What the interval is for.
    public let objective: Objective
    /// The attribute for group objectives.
    public let attribute: String?
    /// The value on the split itself.
    public let estimate: MetricValue
    /// The (1 − confidence)/2 percentile of the defined resampled values.
    public let lower: MetricValue
    /// The (1 + confidence)/2 percentile.
    public let upper: MetricValue
    /// Resamples in which the objective was defined; the percentiles use these only.
    public let definedResamples: Int
    /// Resamples drawn.
    public let resamples: Int
}

extension MetricsEvaluator {
    /// The objectives given bootstrap intervals: overall AUC, accuracy and balanced accuracy, and
    /// per attribute worst-group AUC, AUC gap, max group loss, EOD and DPD.
    public static let headlineObjectives: [Objective] = [
        .auc, .accuracy, .balancedAccuracy,
        .worstGroupAUC, .aucGap, .maxGroupLoss, .equalizedOddsDifference, .demographicParityDifference,
    ]

    /// Percentile intervals of the headline objectives from stratified resamples.
    ///
    /// Strata are the cells of (true class, group of every attribute, unknown included); each
    /// resample draws every stratum's size with replacement from it, so each group keeps its size
    /// and class balance and a group AUC that exists on the split exists in every resample.
    /// Deterministic for a given seed, sample order and evaluator.
    public func bootstrap(_ options: BootstrapOptions) throws(MetricsError) -> [BootstrapInterval] {
        guard options.resamples >= 1 else { throw .invalidOption("bootstrap needs at least 1 resample") }
        guard options.confidence > 0, options.confidence < 1 else {
            throw .invalidOption("bootstrap confidence must be in (0, 1)")
        }
        let n = split.sampleCount
        let strata = Bootstrap.strata(split)
        var workspace = Workspace(split: split)
        let base = report(weights: [Double](repeating: 1, count: n), workspace: &workspace)
        let targets: [(Objective, String?)] = MetricsEvaluator.headlineObjectives.flatMap { o in
            o.needsAttribute ? attributes.map { (o, Optional($0.name)) } : [(o, nil)]
        }
        var samples = [[Double]](repeating: [], count: targets.count)
        var generator = Xoshiro256(seed: options.seed)
        var weights = [Double](repeating: 0, count: n)
        for _ in 0..<options.resamples {
            Bootstrap.draw(strata, into: &weights, generator: &generator)
            let resampled = report(weights: weights, workspace: &workspace)
            for (t, (objective, attribute)) in targets.enumerated() {
                if let v = try resampled.value(of: objective, attribute: attribute).doubleValue { samples[t].append(v) }
            }
        }
        let tail = (1 - options.confidence) / 2
        return try targets.enumerated().map { (t, target) throws(MetricsError) in
            let (objective, attribute) = target
            let sorted = samples[t].sorted()
            let lower: MetricValue, upper: MetricValue
            if sorted.isEmpty {
                lower = .undefined(.noDefinedResamples(resamples: options.resamples))
                upper = lower
            } else {
                lower = .value(Bootstrap.percentile(sorted, tail))
                upper = .value(Bootstrap.percentile(sorted, 1 - tail))
            }
            return BootstrapInterval(objective: objective, attribute: attribute,
                                     estimate: try base.value(of: objective, attribute: attribute),
                                     lower: lower, upper: upper, definedResamples: sorted.count,
                                     resamples: options.resamples)
        }
    }
}

/// Resampling helpers.
public enum Bootstrap {
    /// The q-quantile of ascending `sorted` with linear interpolation between order statistics
    /// (numpy's default `method="linear"`).
    public static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        precondition(!sorted.isEmpty && q >= 0 && q <= 1)
        let position = q * Double(sorted.count - 1)
        let low = Int(position.rounded(.down))
        let high = Swift.min(low + 1, sorted.count - 1)
        let t = position - Double(low)
        return sorted[low] + (sorted[high] - sorted[low]) * t
    }

    /// Positions grouped by (label, group of each attribute), in first-appearance order.
    static func strata(_ split: PreparedSplit) -> [[Int32]] {
        let perSample = split.layout.slotsPerSample
        return strata(count: split.sampleCount, keyLength: perSample) { i, key in
            key[0] = split.labels[i]
            for a in 1..<perSample { key[a] = split.layout.slotOf[i * perSample + a] }
        }
    }

    /// Indices 0..<count grouped by the key `fill` writes for each, in first-appearance order.
    static func strata(count: Int, keyLength: Int, _ fill: (Int, inout [Int32]) -> Void) -> [[Int32]] {
        var index: [[Int32]: Int] = [:]
        var strata: [[Int32]] = []
        var key = [Int32](repeating: 0, count: keyLength)
        for i in 0..<count {
            fill(i, &key)
            if let s = index[key] {
                strata[s].append(Int32(i))
            } else {
                index[key] = strata.count
                strata.append([Int32(i)])
            }
        }
        return strata
    }

    /// Adds one stratified resample to `weights`: each stratum in order draws its size with
    /// replacement, member `next(below: size)` each time.
    static func draw(_ strata: [[Int32]], into weights: inout [Double], generator: inout Xoshiro256) {
        weights.withUnsafeMutableBufferPointer { w in
            w.update(repeating: 0)
            for members in strata {
                let m = UInt64(members.count)
                for _ in 0..<members.count { w[Int(members[Int(generator.next(below: m))])] += 1 }
            }
        }
    }
}

/// Stratified resamples of samples in the caller's order, to share between several evaluators of the
/// same samples (different models' predictions): differences between them are then paired.
///
/// Strata are the distinct (label, group code of each attribute; -1 = unknown) in order of first
/// appearance over the samples; a resample visits the strata in that order and draws each one's
/// size with replacement, member `Xoshiro256.next(below: size)` each time. The result is the
/// multiplicity of every sample.
public struct StratifiedResampler: Sendable {
    /// Sample indices of each stratum, in first-appearance order.
    public let strata: [[Int32]]
    private var generator: Xoshiro256
    private var weights: [Double]

    /// Strata of `labels` × the groups of `attributes` (each with one code per sample), seeded by `seed`.
    public init(labels: [Int], attributes: [SensitiveAttribute], seed: UInt64) throws(MetricsError) {
        for a in attributes where a.codes.count != labels.count {
            throw .lengthMismatch(what: "attribute '\(a.name)'", expected: labels.count, found: a.codes.count)
        }
        strata = Bootstrap.strata(count: labels.count, keyLength: 1 + attributes.count) { i, key in
            key[0] = Int32(labels[i])
            for (a, attribute) in attributes.enumerated() { key[a + 1] = attribute.codes[i] }
        }
        generator = Xoshiro256(seed: seed)
        weights = [Double](repeating: 0, count: labels.count)
    }

    /// The next resample: how many times each sample is drawn.
    public mutating func next() -> [Double] {
        Bootstrap.draw(strata, into: &weights, generator: &generator)
        return weights
    }
}

extension MetricsEvaluator {
    /// The report of the split with sample i (the caller's order) counted `multiplicities[i]` times,
    /// e.g. a `StratifiedResampler` resample.
    /// - Throws: `.lengthMismatch` when there is not one multiplicity per sample.
    public func evaluate(multiplicities: [Double]) throws(MetricsError) -> MetricsReport {
        guard multiplicities.count == split.sampleCount else {
            throw .lengthMismatch(what: "multiplicities", expected: split.sampleCount, found: multiplicities.count)
        }
        let weights = split.sampleAtPosition.map { multiplicities[Int($0)] }
        var workspace = Workspace(split: split)
        return report(weights: weights, workspace: &workspace)
    }
}
