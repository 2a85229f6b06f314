import Foundation

/// Cross-entropy of logits against integer labels with optional class weights and label
/// smoothing, with the mean semantics of `torch.nn.CrossEntropyLoss(weight=w, label_smoothing=ε)`:
///
///     ℓ_i   = (1−ε)·w[y_i]·(−log p_i[y_i]) + (ε/K)·Σ_k w[k]·(−log p_i[k])
///     loss  = Σ_i ℓ_i / Σ_i w[y_i]
///
/// (a weighted mean: dividing by the summed label weights, not by N; without weights w ≡ 1 and
/// this is the plain mean). Shapes: `logits` (N, K), `labels` (N) in 0..<K, `classWeights` (K).
/// Sums run in Double: they are tiny and the loss is compared with PyTorch.
public enum CrossEntropy {
    /// The mean loss.
    public static func loss(logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, classWeights: UnsafePointer<Float>?,
                            labelSmoothing: Float, rows n: Int, classes k: Int) -> Float {
        var total = 0.0, weightSum = 0.0
        let eps = Double(labelSmoothing)
        for i in 0..<n {
            let z = logits + i * k
            let y = Int(labels[i])
            precondition(y >= 0 && y < k, "label \(y) outside 0..<\(k)")
            let logSum = logSumExp(z, k)
            let wy = Double(classWeights?[y] ?? 1)
            var smooth = 0.0
            if eps > 0 { for j in 0..<k { smooth += Double(classWeights?[j] ?? 1) * (logSum - Double(z[j])) } }
            total += (1 - eps) * wy * (logSum - Double(z[y])) + eps / Double(k) * smooth
            weightSum += wy
        }
        return Float(total / weightSum)
    }

    /// Overwrites `logitsGradient` (N, K) with d(loss)/d(logits):
    /// `[((1−ε)·w[y_i] + (ε/K)·Σw)·p_i − (1−ε)·w[y_i]·e_{y_i} − (ε/K)·w] / Σ_i w[y_i]`.
    public static func backward(logitsGradient: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>,
                                labels: UnsafePointer<Int32>, classWeights: UnsafePointer<Float>?,
                                labelSmoothing: Float, rows n: Int, classes k: Int) {
        let eps = Double(labelSmoothing)
        var weightSum = 0.0, allWeights = 0.0
        for i in 0..<n { weightSum += Double(classWeights?[Int(labels[i])] ?? 1) }
        for j in 0..<k { allWeights += Double(classWeights?[j] ?? 1) }
        for i in 0..<n {
            let z = logits + i * k, g = logitsGradient + i * k
            let y = Int(labels[i])
            let logSum = logSumExp(z, k)
            let wy = Double(classWeights?[y] ?? 1)
            let pScale = (1 - eps) * wy + eps / Double(k) * allWeights
            for j in 0..<k {
                var v = pScale * exp(Double(z[j]) - logSum) - eps / Double(k) * Double(classWeights?[j] ?? 1)
                if j == y { v -= (1 - eps) * wy }
                g[j] = Float(v / weightSum)
            }
        }
    }

    /// log Σ_j exp(z_j), shifted by the maximum.
    static func logSumExp(_ z: UnsafePointer<Float>, _ k: Int) -> Double {
        var m = -Double.infinity
        for j in 0..<k { m = max(m, Double(z[j])) }
        var s = 0.0
        for j in 0..<k { s += exp(Double(z[j]) - m) }
        return m + log(s)
    }
}
