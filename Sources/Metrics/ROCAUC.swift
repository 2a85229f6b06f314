/// The samples sorted once by one score column, cut into blocks of tied scores.
///
/// ROC AUC is the Mann-Whitney statistic: the share of (positive, negative) pairs where the
/// positive scores higher, a tie counting half, which is what scikit-learn's trapezoidal ROC
/// area gives. Walking the blocks in ascending order gives it in O(n) per pass after the
/// O(n log n) sort, for any sample weights (bootstrap multiplicities) and all groups at once.
struct RankOrder: Sendable {
    /// [n] sample indices by ascending score.
    let order: [Int32]
    /// [blocks + 1] start of each block of equal scores in `order`; the last entry is n.
    let blockStarts: [Int32]
    /// The class whose samples count as positives (one-vs-rest).
    let positiveClass: Int32
    /// [n] 1 where the sample at `order[j]` is a positive, else 0 (in sorted order, so the pass
    /// reads it sequentially and multiplies instead of branching).
    let positiveInOrder: [Double]

    /// Sorts `scores` ([n]); `labels` ([n] classes) say which samples are positives.
    init(scores: [Double], labels: [Int32], positiveClass: Int) {
        let n = scores.count
        var order = (0..<n).map { Int32($0) }
        scores.withUnsafeBufferPointer { s in
            order.sort { s[Int($0)] < s[Int($1)] }
        }
        var starts: [Int32] = []
        starts.reserveCapacity(n + 1)
        for j in 0..<n where j == 0 || scores[Int(order[j])] != scores[Int(order[j - 1])] {
            starts.append(Int32(j))
        }
        starts.append(Int32(n))
        self.order = order
        self.blockStarts = starts
        self.positiveClass = Int32(positiveClass)
        self.positiveInOrder = order.map { labels[Int($0)] == Int32(positiveClass) ? 1 : 0 }
    }

    /// Adds, per slot, the weight of positives and negatives and the Mann-Whitney credit
    /// (Σ over positives of weight × (negative weight below + half the tied negative weight)).
    ///
    /// - Parameters:
    ///   - layout: the slots each sample counts in.
    ///   - weights: [n] multiplicity of each sample (1 for the split itself).
    ///   - positives, negatives, credit: [slotCount] sums, added to.
    ///   - scratch: [3 * slotCount] zeros on entry and on return (block sums and the negatives below).
    func accumulate(layout: SlotLayout, weights: UnsafeBufferPointer<Double>,
                    positives: UnsafeMutableBufferPointer<Double>, negatives: UnsafeMutableBufferPointer<Double>,
                    credit: UnsafeMutableBufferPointer<Double>, scratch: UnsafeMutableBufferPointer<Double>) {
        let slotCount = layout.slotCount
        let perSample = layout.slotsPerSample
        // scratch = [blockPositive | blockNegative | negativeBelow], each [slotCount].
        let blockPositive = scratch.baseAddress!
        let blockNegative = blockPositive + slotCount
        let negativeBelow = blockNegative + slotCount
        order.withUnsafeBufferPointer { order in
        positiveInOrder.withUnsafeBufferPointer { positive in
        blockStarts.withUnsafeBufferPointer { starts in
        layout.slotOf.withUnsafeBufferPointer { slotOf in
            for block in 0..<(starts.count - 1) {
                let range = Int(starts[block])..<Int(starts[block + 1])
                // Sum the block's positives and negatives per slot...
                for j in range {
                    let i = Int(order[j])
                    let wPositive = weights[i] * positive[j]
                    let wNegative = weights[i] - wPositive
                    for k in 0..<perSample {
                        let s = Int(slotOf[i * perSample + k])
                        if s < 0 { continue }
                        blockPositive[s] += wPositive
                        blockNegative[s] += wNegative
                    }
                }
                // ...then credit them once per slot: a slot met again finds its block sums zeroed
                // and adds nothing, so no bookkeeping of which slots were met (and no branches).
                for j in range {
                    let i = Int(order[j])
                    for k in 0..<perSample {
                        let s = Int(slotOf[i * perSample + k])
                        if s < 0 { continue }
                        credit[s] += blockPositive[s] * (negativeBelow[s] + 0.5 * blockNegative[s])
                        positives[s] += blockPositive[s]
                        negativeBelow[s] += blockNegative[s]
                        blockPositive[s] = 0
                        blockNegative[s] = 0
                    }
                }
            }
        }}}}
        for s in 0..<slotCount {
            negatives[s] += negativeBelow[s]
            negativeBelow[s] = 0
        }
    }
}

/// ROC AUC of one binary score vector, for callers outside a full evaluation.
public enum ROCAUC {
    /// The area under the ROC curve of `scores` for `labels` (0/1), ties counting half.
    /// Undefined when the labels hold one class only or are empty.
    public static func binary(scores: [Double], labels: [Int]) throws(MetricsError) -> MetricValue {
        let predictions = try Predictions.binary(scores: scores, kind: .logits, labels: labels)
        let report = try MetricsEvaluator(predictions: predictions, attributes: []).evaluate()
        return report.overall.auc
    }
}
