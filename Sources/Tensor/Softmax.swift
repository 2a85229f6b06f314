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
            let maximum = RowSum.maximum(x, columns)
            for j in 0..<columns { x[j] = FastMath.exp(scale * (x[j] - maximum)) }
            let inv = 1 / RowSum.sum(x, columns)
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
            let dot = RowSum.dot(g, y, columns)
            for j in 0..<columns { g[j] = scale * y[j] * (g[j] - dot) }
        }
    }
}
