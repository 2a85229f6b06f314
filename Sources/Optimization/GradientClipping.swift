/// Gradient-norm clipping and non-finite detection over the trainable ranges of a flat gradient.
public enum GradientClipping {
    /// The 2-norm of the gradient elements inside `groups` (as if concatenated), accumulated in
    /// f64 and rounded to f32. NaN or infinity when any element is non-finite.
    public static func totalNorm(_ gradients: UnsafeBufferPointer<Float>, groups: [ParameterGroup]) -> Float {
        groups.preconditionDisjoint(within: gradients.count)
        var sumOfSquares = 0.0
        for group in groups where group.count > 0 {
            // g: (count) view of this group; four accumulators let the loop vectorize.
            let g = gradients.baseAddress! + group.offset
            var partial = (0.0, 0.0, 0.0, 0.0)
            var i = 0
            while i + 4 <= group.count {
                let a = Double(g[i]), b = Double(g[i + 1]), c = Double(g[i + 2]), d = Double(g[i + 3])
                partial.0 += a * a
                partial.1 += b * b
                partial.2 += c * c
                partial.3 += d * d
                i += 4
            }
            while i < group.count {
                let a = Double(g[i])
                partial.0 += a * a
                i += 1
            }
            sumOfSquares += (partial.0 + partial.1) + (partial.2 + partial.3)
        }
        return Float(sumOfSquares.squareRoot())
    }

    /// Scales the gradients inside `groups` so their total 2-norm is at most `maxNorm`, as
    /// `torch.nn.utils.clip_grad_norm_(..., max_norm, norm_type=2)`: the coefficient
    /// `maxNorm / (total + 1e-6)` (in f32) is applied when it is below 1.
    ///
    /// A non-finite total leaves the gradients unchanged (torch would fill them with NaN); check
    /// the returned norm, e.g. with `requireFinite`, before stepping.
    ///
    /// - Returns: the total norm before clipping.
    @discardableResult
    public static func clipByTotalNorm(_ gradients: UnsafeMutableBufferPointer<Float>, groups: [ParameterGroup],
                                       maxNorm: Double) -> Float {
        let total = totalNorm(UnsafeBufferPointer(gradients), groups: groups)
        let coefficient = Float(maxNorm) / (total + Float(1e-6))
        guard coefficient < 1 else { return total }
        for group in groups where group.count > 0 {
            let g = gradients.baseAddress! + group.offset
            for i in 0..<group.count { g[i] *= coefficient }
        }
        return total
    }

    /// The first gradient element inside `groups` (in buffer order) that is NaN or infinite.
    public static func firstNonFinite(_ gradients: UnsafeBufferPointer<Float>,
                                      groups: [ParameterGroup]) -> (index: Int, value: Float)? {
        for group in groups.sorted(by: { $0.offset < $1.offset }) where group.count > 0 {
            precondition(group.offset + group.count <= gradients.count,
                         "parameter group \(group.range) exceeds the buffer of \(gradients.count) elements")
            for index in group.range where !gradients[index].isFinite {
                return (index, gradients[index])
            }
        }
        return nil
    }

    /// Throws when a gradient element inside `groups` is NaN or infinite, so training can stop
    /// with the element's index (the caller maps it to a parameter name).
    ///
    /// Cheap when all is well: pass the `totalNorm` already computed for clipping (a finite f64
    /// sum of squares means every element is finite); the scan runs only when it is not finite.
    /// - Throws: `OptimizationError.nonFiniteGradient` naming the first such element.
    public static func requireFinite(_ gradients: UnsafeBufferPointer<Float>, groups: [ParameterGroup],
                                     totalNorm: Float? = nil) throws(OptimizationError) {
        let norm = totalNorm ?? Self.totalNorm(gradients, groups: groups)
        if norm.isFinite { return }
        if let bad = firstNonFinite(gradients, groups: groups) {
            throw .nonFiniteGradient(index: bad.index, value: bad.value)
        }
    }
}
