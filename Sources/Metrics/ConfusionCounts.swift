/// Weighted sums per slot (see `SlotLayout`) from which every metric of every group follows.
///
/// With K classes, C AUC columns (1 for binary, K for multi-class) and B calibration bins:
/// `classSupport`/`classCorrect` are [slotCount, K], `bin*` are [slotCount, B], `auc*` are
/// [slotCount, C]; the rest are [slotCount]. All are views into one allocation, owned here, so a
/// pass takes no closure per array and `reset` is one fill.
final class SlotTotals {
    /// See `SlotLayout`.
    let slotCount: Int
    /// K.
    let classCount: Int
    /// C: 1 for binary, K for multi-class (one-vs-rest).
    let aucColumns: Int
    /// B.
    let calibrationBins: Int
    /// Total sample weight.
    let weight: UnsafeMutableBufferPointer<Double>
    /// Weight of samples whose true class is c.
    let classSupport: UnsafeMutableBufferPointer<Double>
    /// Weight of samples of true class c predicted as c.
    let classCorrect: UnsafeMutableBufferPointer<Double>
    /// Weight of samples predicted positive (binary).
    let predictedPositive: UnsafeMutableBufferPointer<Double>
    /// Weighted sum of per-sample losses.
    let lossSum: UnsafeMutableBufferPointer<Double>
    /// Weight in each calibration bin.
    let binWeight: UnsafeMutableBufferPointer<Double>
    /// Weighted sum of top-label confidences in each bin.
    let binConfidence: UnsafeMutableBufferPointer<Double>
    /// Weight of top-label-correct samples in each bin.
    let binCorrect: UnsafeMutableBufferPointer<Double>
    /// Weight of the AUC column's positives (samples of its class).
    let aucPositives: UnsafeMutableBufferPointer<Double>
    /// Weight of the AUC column's negatives.
    let aucNegatives: UnsafeMutableBufferPointer<Double>
    /// Mann-Whitney credit: Σ positive weight × (negative weight below + half the tied).
    let aucCredit: UnsafeMutableBufferPointer<Double>
    /// Every sum above, end to end.
    private let storage: UnsafeMutableBufferPointer<Double>

    /// Zero sums shaped for `split`.
    init(split: PreparedSplit) {
        slotCount = split.layout.slotCount
        classCount = split.classCount
        aucColumns = split.rankOrders.count
        calibrationBins = split.calibrationBins
        let slots = slotCount
        let all = UnsafeMutableBufferPointer<Double>.allocate(
            capacity: slots * (3 + 2 * classCount + 3 * calibrationBins + 3 * aucColumns))
        all.initialize(repeating: 0)
        var offset = 0
        /// The next `perSlot × slotCount` sums of the allocation.
        func next(_ perSlot: Int) -> UnsafeMutableBufferPointer<Double> {
            defer { offset += perSlot * slots }
            return UnsafeMutableBufferPointer(rebasing: all[offset..<(offset + perSlot * slots)])
        }
        weight = next(1)
        predictedPositive = next(1)
        lossSum = next(1)
        classSupport = next(classCount)
        classCorrect = next(classCount)
        binWeight = next(calibrationBins)
        binConfidence = next(calibrationBins)
        binCorrect = next(calibrationBins)
        aucPositives = next(aucColumns)
        aucNegatives = next(aucColumns)
        aucCredit = next(aucColumns)
        storage = all
    }

    deinit { storage.deallocate() }

    /// Sets every sum to zero, keeping the storage (bootstrap reuses one instance).
    func reset() {
        storage.update(repeating: 0)
    }
}

/// The confusion, loss and calibration sums of a split, per slot.
enum ConfusionCounts {
    /// Adds every sample, with multiplicity `weights[i]`, to the sums of its slots.
    ///
    /// - Parameters:
    ///   - weights: [n] multiplicities (1 for the split itself, bootstrap counts otherwise).
    ///   - scratch: [3 * slotCount] zeros, used by the AUC passes.
    static func accumulate(_ split: PreparedSplit, weights: [Double], into totals: SlotTotals,
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
        let weight = totals.weight, support = totals.classSupport, correct = totals.classCorrect
        let predictedPositive = totals.predictedPositive, lossSum = totals.lossSum
        let binWeight = totals.binWeight, binConfidence = totals.binConfidence, binCorrect = totals.binCorrect
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
        }}}}}}}
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
