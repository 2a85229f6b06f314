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

extension Softmax {
    /// Writes `probabilities` row r = bf16(softmax(scale · scores row r)), the operand of the next
    /// product rounded by the kernel that makes it; `scores` is overwritten with exponentials.
    /// Both have rows `stride` apart. Serial over `rows`.
    public static func forward(_ scores: UnsafeMutablePointer<Float>, into probabilities: UnsafeMutablePointer<UInt16>,
                               rows: Int, columns: Int, stride: Int, scale: Float) {
        let scaleLog2E = scale * 1.44269504088896341
        for r in 0..<rows {
            let x = scores + r * stride, y = probabilities + r * stride
            let maximum = RowSum.maximum(x, columns)
            // e^(scale·(x − max)) = 2^(scale·log2(e)·(x − max)), at the accuracy bf16 keeps.
            for j in 0..<columns { x[j] = FastMath.exp2ForBF16(scaleLog2E * (x[j] - maximum)) }
            let inv = 1 / RowSum.sum(x, columns)
            for j in 0..<columns { y[j] = BFloat16.bits(x[j] * inv) }
        }
    }

    /// `backwardInPlace` for bf16 probabilities, writing dL/dx in bf16 (the operand of the next
    /// products): `dx = scale · y ⊙ (dy − Σ_j dy_j y_j)` from `gradient` (dL/dy, f32). Rows are
    /// `stride` apart in all three. Two passes a row: the dot product, then the write.
    public static func backward(_ gradient: UnsafePointer<Float>, probabilities: UnsafePointer<UInt16>,
                                into inputGradient: UnsafeMutablePointer<UInt16>,
                                rows: Int, columns: Int, stride: Int, scale: Float) {
        for r in 0..<rows {
            let g = gradient + r * stride, y = probabilities + r * stride, dx = inputGradient + r * stride
            let dot = RowSum.dot(g, bf16: y, columns)
            for j in 0..<columns { dx[j] = BFloat16.bits(scale * BFloat16.float(y[j]) * (g[j] - dot)) }
        }
    }
}
