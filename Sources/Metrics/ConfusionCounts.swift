/// Weighted sums per slot (see `SlotLayout`) from which every metric of every group follows.
///
/// With K classes, C AUC columns (1 for binary, K for multi-class) and B calibration bins:
/// `classSupport`/`classCorrect` are [slotCount, K], `bin*` are [slotCount, B], `auc*` are
/// [slotCount, C]; the rest are [slotCount].
struct SlotTotals: Sendable {
    /// See `SlotLayout`.
    let slotCount: Int
    /// K.
    let classCount: Int
    /// C: 1 for binary, K for multi-class (one-vs-rest).
    let aucColumns: Int
    /// B.
    let calibrationBins: Int
    /// Total sample weight.
    var weight: [Double]
    /// Weight of samples whose true class is c.
    var classSupport: [Double]
    /// Weight of samples of true class c predicted as c.
    var classCorrect: [Double]
    /// Weight of samples predicted positive (binary).
    var predictedPositive: [Double]
    /// Weighted sum of per-sample losses.
    var lossSum: [Double]
    /// Weight in each calibration bin.
    var binWeight: [Double]
    /// Weighted sum of top-label confidences in each bin.
    var binConfidence: [Double]
    /// Weight of top-label-correct samples in each bin.
    var binCorrect: [Double]
    /// Weight of the AUC column's positives (samples of its class).
    var aucPositives: [Double]
    /// Weight of the AUC column's negatives.
    var aucNegatives: [Double]
    /// Mann-Whitney credit: Σ positive weight × (negative weight below + half the tied).
    var aucCredit: [Double]

    /// Zero sums shaped for `split`.
    init(split: PreparedSplit) {
        slotCount = split.layout.slotCount
        classCount = split.classCount
        aucColumns = split.rankOrders.count
        calibrationBins = split.calibrationBins
        let zeros = [Double](repeating: 0, count: slotCount)
        weight = zeros
        predictedPositive = zeros
        lossSum = zeros
        classSupport = [Double](repeating: 0, count: slotCount * classCount)
        classCorrect = classSupport
        binWeight = [Double](repeating: 0, count: slotCount * calibrationBins)
        binConfidence = binWeight
        binCorrect = binWeight
        aucPositives = [Double](repeating: 0, count: slotCount * aucColumns)
        aucNegatives = aucPositives
        aucCredit = aucPositives
    }

    /// Sets every sum to zero, keeping the storage (bootstrap reuses one instance).
    mutating func reset() {
        for keyPath in [\SlotTotals.weight, \.classSupport, \.classCorrect, \.predictedPositive, \.lossSum,
                        \.binWeight, \.binConfidence, \.binCorrect, \.aucPositives, \.aucNegatives, \.aucCredit] {
            self[keyPath: keyPath].withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        }
    }
}

/// The confusion, loss and calibration sums of a split, per slot.
enum ConfusionCounts {
    /// Adds every sample, with multiplicity `weights[i]`, to the sums of its slots.
    ///
    /// - Parameters:
    ///   - weights: [n] multiplicities (1 for the split itself, bootstrap counts otherwise).
    ///   - scratch: [3 * slotCount] zeros, used by the AUC passes.
    static func accumulate(_ split: PreparedSplit, weights: [Double], into totals: inout SlotTotals,
                           scratch: inout [Double]) {
        let perSample = split.layout.slotsPerSample
        let k = split.classCount
        let b = split.calibrationBins
        weights.withUnsafeBufferPointer { w in
        split.layout.slotOf.withUnsafeBufferPointer { slotOf in
        split.labels.withUnsafeBufferPointer { labels in
        split.outcome.withUnsafeBufferPointer { outcome in
        split.loss.withUnsafeBufferPointer { loss in
        split.calibrationBin.withUnsafeBufferPointer { bins in
        split.confidence.withUnsafeBufferPointer { confidence in
        totals.weight.withUnsafeMutableBufferPointer { weight in
        totals.classSupport.withUnsafeMutableBufferPointer { support in
        totals.classCorrect.withUnsafeMutableBufferPointer { correct in
        totals.predictedPositive.withUnsafeMutableBufferPointer { predictedPositive in
        totals.lossSum.withUnsafeMutableBufferPointer { lossSum in
        totals.binWeight.withUnsafeMutableBufferPointer { binWeight in
        totals.binConfidence.withUnsafeMutableBufferPointer { binConfidence in
        totals.binCorrect.withUnsafeMutableBufferPointer { binCorrect in
            for i in 0..<split.sampleCount {
                // Zero weights (samples left out of a resample) add nothing; no branch on them.
                let wi = w[i]
                let y = Int(labels[i])
                // Flags become 0/1 factors: multiplying is branch-free, unlike `if hit { ... }`.
                let flags = Int32(outcome[i])
                let wHit = wi * Double(flags & Int32(Outcome.hit))
                let wPositive = wi * Double((flags >> 1) & 1)
                let wTopCorrect = wi * Double((flags >> 2) & 1)
                let wLoss = wi * loss[i], wConfidence = wi * confidence[i]
                let bin = Int(bins[i])
                for j in 0..<perSample {
                    let s = Int(slotOf[i * perSample + j])
                    if s < 0 { continue }
                    weight[s] += wi
                    support[s * k + y] += wi
                    correct[s * k + y] += wHit
                    predictedPositive[s] += wPositive
                    lossSum[s] += wLoss
                    if bin >= 0 {
                        binWeight[s * b + bin] += wi
                        binConfidence[s * b + bin] += wConfidence
                        binCorrect[s * b + bin] += wTopCorrect
                    }
                }
            }
        }}}}}}}}}}}}}}}
        let slotCount = split.layout.slotCount
        let columns = split.rankOrders.count
        var positives = [Double](repeating: 0, count: slotCount)
        var negatives = positives
        var credit = positives
        for (c, rank) in split.rankOrders.enumerated() {
            weights.withUnsafeBufferPointer { w in
            positives.withUnsafeMutableBufferPointer { pos in
            negatives.withUnsafeMutableBufferPointer { neg in
            credit.withUnsafeMutableBufferPointer { cr in
            scratch.withUnsafeMutableBufferPointer { scratch in
                pos.update(repeating: 0)
                neg.update(repeating: 0)
                cr.update(repeating: 0)
                rank.accumulate(layout: split.layout, weights: w, positives: pos, negatives: neg,
                                credit: cr, scratch: scratch)
            }}}}}
            for s in 0..<slotCount {
                totals.aucPositives[s * columns + c] += positives[s]
                totals.aucNegatives[s * columns + c] += negatives[s]
                totals.aucCredit[s * columns + c] += credit[s]
            }
        }
    }
}
