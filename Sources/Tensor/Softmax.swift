import Foundation

/// Row softmax, `softmax(scale · x)` along the last dimension (attention probabilities).
///
/// Shapes: `values` (rows, columns), rows `stride` apart.
public enum Softmax {
    /// Replaces each row by `softmax(scale · row)`, subtracting the row maximum first.
    /// Serial over `rows`: callers parallelise over independent matrices.
    @inlinable
    public static func forwardInPlace(_ values: UnsafeMutablePointer<Float>, rows: Int, columns: Int,
                                      stride: Int, scale: Float) {
        for r in 0..<rows {
            let x = values + r * stride
            var maximum = -Float.infinity
            for j in 0..<columns { maximum = Swift.max(maximum, x[j]) }
            var sum: Float = 0
            for j in 0..<columns {
                let e = expf(scale * (x[j] - maximum))
                x[j] = e
                sum += e
            }
            let inv = 1 / sum
            for j in 0..<columns { x[j] *= inv }
        }
    }

    /// Turns `gradient` (dL/dy) into dL/dx in place for `y = softmax(scale · x)`:
    /// `dx = scale · y ⊙ (dy − Σ_j dy_j y_j)`.
    @inlinable
    public static func backwardInPlace(_ gradient: UnsafeMutablePointer<Float>, probabilities: UnsafePointer<Float>,
                                       rows: Int, columns: Int, stride: Int, scale: Float) {
        for r in 0..<rows {
            let g = gradient + r * stride, y = probabilities + r * stride
            var dot: Float = 0
            for j in 0..<columns { dot += g[j] * y[j] }
            for j in 0..<columns { g[j] = scale * y[j] * (g[j] - dot) }
        }
    }
}
