import Foundation

/// Loss weights per class for the weighted-mean cross-entropy.
public enum ClassWeights {
    /// Inverse class frequency of `counts`, normalised to mean 1: w_k = (n / K) / n_k.
    ///
    /// With the weighted mean Σwℓ/Σw only the ratios matter, so the normalisation is for
    /// readability. A class absent from the split gets weight 0 (it never appears as a label).
    /// - Throws: `TrainingError.invalidSetting` when no class has samples.
    public static func inverseFrequency(counts: [Int]) throws(TrainingError) -> [Double] {
        let present = counts.filter { $0 > 0 }
        guard !present.isEmpty else {
            throw .invalidSetting(setting: "class-weights", message: "auto needs a training split with samples")
        }
        let raw = counts.map { $0 > 0 ? 1 / Double($0) : 0 }
        let mean = raw.reduce(0, +) / Double(present.count)
        return raw.map { $0 / mean }
    }

    /// Parses `w0,w1,...`: exactly `classes` finite, non-negative numbers, not all zero.
    public static func parse(_ text: String, classes: Int) throws(TrainingError) -> [Double] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == parts.count, values.count == classes else {
            throw .invalidSetting(setting: "class-weights", message: "'\(text)' must be auto, none or \(classes) "
                + "comma-separated numbers (one per class); got \(parts.count) values")
        }
        if let bad = values.firstIndex(where: { !($0.isFinite && $0 >= 0) }) {
            throw .invalidSetting(setting: "class-weights", message: "'\(text)': the weight of class \(bad) is \(parts[bad]); "
                + "weights must be finite and >= 0")
        }
        guard values.contains(where: { $0 > 0 }) else {
            throw .invalidSetting(setting: "class-weights", message: "'\(text)': all weights are 0; at least one class needs weight > 0")
        }
        return values
    }
}
