import Foundation

/// Everything per sample that does not change between bootstrap resamples: predicted class,
/// loss, calibration bin, and the sorted order of each score column.
///
/// Samples are stored in ascending order of the first score column ("positions"), so the
/// passes over them, repeated for every bootstrap resample, read memory in order.
struct PreparedSplit: Sendable {
    /// n.
    let sampleCount: Int
    /// K.
    let classCount: Int
    /// [n] the caller's sample index at each position.
    let sampleAtPosition: [Int32]
    /// The slots each position counts in.
    let layout: SlotLayout
    /// [n] true class.
    let labels: [Int32]
    /// [n] bit flags (`Outcome`): prediction correct, predicted positive, top label correct.
    /// One byte instead of three numbers: the bootstrap's passes are limited by memory traffic.
    let outcome: [UInt8]
    /// [n] cross-entropy of the true class, probabilities clipped like scikit-learn's log_loss.
    let loss: [Double]
    /// [n] calibration bin of the top-label confidence, -1 if in none.
    let calibrationBin: [Int32]
    /// [n] top-label confidence.
    let confidence: [Double]
    /// B.
    let calibrationBins: Int
    /// One rank order (over positions) per AUC column: binary ranks class 1's score;
    /// multi-class each class's probability (one-vs-rest).
    let rankOrders: [RankOrder]

    /// Computes every per-sample quantity and sorts each score column once.
    init(predictions: Predictions, attributes: [SensitiveAttribute], options: EvaluationOptions) {
        let n = predictions.sampleCount
        let k = predictions.classCount
        sampleCount = n
        classCount = k
        calibrationBins = options.calibrationBins
        let p = predictions.probabilities
        let columnScores: [[Double]] = predictions.isBinary
            ? [predictions.scores] : (0..<k).map { c in (0..<n).map { p[$0 * k + c] } }
        let sampleAt = RankOrder(scores: columnScores[0], labels: predictions.labels, positiveClass: 0).order
        sampleAtPosition = sampleAt
        let samples = sampleAt.map { Int($0) }
        layout = SlotLayout(sampleCount: n, attributes: attributes.map { $0.rows(samples) })
        let labelAtPosition = samples.map { predictions.labels[$0] }
        labels = labelAtPosition
        var outcome = [UInt8](repeating: 0, count: n)
        var loss = [Double](repeating: 0, count: n)
        var confidence = [Double](repeating: 0, count: n)
        var bins = [Int32](repeating: -1, count: n)
        let edges = Calibration.binEdges(count: options.calibrationBins)
        for (position, i) in samples.enumerated() {
            let y = Int(predictions.labels[i])
            var top = 0
            var topProbability: Double
            var trueProbability: Double
            if predictions.isBinary {
                let p1 = p[i], p0 = 1 - p[i]
                let predicted = p1 >= options.threshold ? 1 : 0
                outcome[position] = (predicted == y ? Outcome.hit : 0) | (predicted == 1 ? Outcome.predictedPositive : 0)
                // Arg-max with ties to the first class, as numpy and torch do.
                top = p1 > p0 ? 1 : 0
                topProbability = Swift.max(p0, p1)
                trueProbability = y == 1 ? p1 : p0
            } else {
                topProbability = p[i * k]
                for c in 1..<k where p[i * k + c] > topProbability {
                    top = c
                    topProbability = p[i * k + c]
                }
                outcome[position] = top == y ? Outcome.hit : 0
                trueProbability = p[i * k + y]
            }
            loss[position] = LogLoss.loss(probabilityOfTrueClass: trueProbability)
            confidence[position] = topProbability
            outcome[position] |= top == y ? Outcome.topLabelCorrect : 0
            bins[position] = Int32(Calibration.bin(of: topProbability, edges: edges))
        }
        self.outcome = outcome
        self.loss = loss
        self.confidence = confidence
        self.calibrationBin = bins
        rankOrders = columnScores.enumerated().map { c, scores in
            RankOrder(scores: samples.map { scores[$0] }, labels: labelAtPosition, positiveClass: predictions.isBinary ? 1 : c)
        }
    }
}

/// The bits of `PreparedSplit.outcome`.
enum Outcome {
    /// The prediction (threshold or arg-max) is the true class.
    static let hit: UInt8 = 1
    /// Binary: predicted positive.
    static let predictedPositive: UInt8 = 2
    /// The arg-max class is the true class (calibration's notion of correct).
    static let topLabelCorrect: UInt8 = 4
}

/// Per-sample log loss of predicted probabilities (scikit-learn's `log_loss`); the training loss on
/// logits is `CrossEntropy` in Tensor.
public enum LogLoss {
    /// The smallest probability used: scikit-learn clips to [eps, 1 - eps] with eps the float64 machine epsilon.
    public static let clip = Double.ulpOfOne

    /// -log of the true class's probability after clipping.
    public static func loss(probabilityOfTrueClass p: Double) -> Double {
        -Foundation.log(Swift.min(Swift.max(p, clip), 1 - clip))
    }
}
