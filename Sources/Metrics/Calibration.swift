/// Expected calibration error (Guo et al. 2017): top-label confidence in equal-width bins
/// (lower, upper], ECE = Σ_b (weight in b / total) · |mean confidence in b − accuracy in b|.
public enum Calibration {
    /// [count + 1] bin edges i·(1/count), the last exactly 1, as `numpy.linspace(0, 1, count + 1)` makes them.
    public static func binEdges(count: Int) -> [Double] {
        let step = 1.0 / Double(count)
        return (0...count).map { $0 == count ? 1.0 : Double($0) * step }
    }

    /// The bin with edges[b] < confidence <= edges[b + 1], or -1 (confidence 0 is in no bin).
    public static func bin(of confidence: Double, edges: [Double]) -> Int {
        let count = edges.count - 1
        guard confidence > 0, confidence <= 1 else { return -1 }
        var b = Swift.min(count - 1, Swift.max(0, Int((confidence * Double(count)).rounded(.up)) - 1))
        while b > 0 && confidence <= edges[b] { b -= 1 }
        while b < count - 1 && confidence > edges[b + 1] { b += 1 }
        return b
    }

    /// ECE of one slot from its bin sums.
    static func expectedCalibrationError(_ totals: SlotTotals, slot s: Int) -> MetricValue {
        let total = totals.weight[s]
        guard total > 0 else { return .undefined(.noSamples) }
        let b = totals.calibrationBins
        var ece = 0.0
        for bin in 0..<b {
            let w = totals.binWeight[s * b + bin]
            if w == 0 { continue }
            let gap = abs(totals.binConfidence[s * b + bin] / w - totals.binCorrect[s * b + bin] / w)
            ece += gap * (w / total)
        }
        return .value(ece)
    }
}
