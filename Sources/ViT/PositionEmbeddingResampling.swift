/// Resamples a learned position-embedding grid to another grid size, as timm's
/// `resample_abs_pos_embed` (`F.interpolate(mode='bicubic', align_corners=False)` on the
/// (1, C, g, g) grid; prefix tokens are copied).
///
/// Two PyTorch kernels are reproduced. With `antialias: true` (timm's default when it loads a
/// checkpoint into another image size) each output pixel is a normalised cubic filter with
/// a = −0.5 whose support widens by the scale when shrinking; with `antialias: false` it is the
/// classic 4-tap cubic convolution with a = −0.75 and clamped edge indices. Both are separable.
public enum PositionEmbeddingResampling {
    /// One output position of a 1-D resampling: input indices and weights.
    struct Taps {
        var indices: [Int] = []
        var weights: [Double] = []
    }

    /// The 1-D taps for resizing `input` samples to `output` samples.
    static func taps(input: Int, output: Int, antialias: Bool) -> [Taps] {
        let scale = Double(input) / Double(output)
        if antialias {
            // PyTorch's _compute_indices_weights_aa with the bicubic filter (a = −0.5).
            func filter(_ v: Double) -> Double {
                let x = abs(v), a = -0.5
                if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
                if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
                return 0
            }
            let support = scale >= 1 ? 2 * scale : 2
            let invScale = scale >= 1 ? 1 / scale : 1
            return (0..<output).map { i in
                let center = scale * (Double(i) + 0.5)
                let lo = max(Int(center - support + 0.5), 0)
                let hi = min(Int(center + support + 0.5), input)
                var t = Taps()
                for j in lo..<max(lo, hi) {
                    t.indices.append(j)
                    t.weights.append(filter((Double(j) - center + 0.5) * invScale))
                }
                let total = t.weights.reduce(0, +)
                if total != 0 { t.weights = t.weights.map { $0 / total } }
                return t
            }
        }
        // PyTorch's upsample_bicubic2d (align_corners=False): 4 taps, a = −0.75, clamped indices.
        let a = -0.75
        func near(_ x: Double) -> Double { ((a + 2) * x - (a + 3)) * x * x + 1 }
        func far(_ x: Double) -> Double { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
        return (0..<output).map { i in
            let real = scale * (Double(i) + 0.5) - 0.5
            let base = Int(real.rounded(.down))
            let f = real - Double(base)
            var t = Taps()
            t.weights = [far(f + 1), near(f), near(1 - f), far(2 - f)]
            t.indices = (0..<4).map { min(max(base - 1 + $0, 0), input - 1) }
            return t
        }
    }

    /// Resamples `source` (prefix + g·g tokens, C channels; rows of C) to a grid of `newGrid`²
    /// tokens after the same prefix tokens.
    ///
    /// - Returns: ((prefix + newGrid²) · C) values, prefix rows unchanged.
    public static func resample(_ source: [Float], channels c: Int, prefixTokens: Int = 1, oldGrid: Int,
                                newGrid: Int, antialias: Bool) -> [Float] {
        precondition(source.count == (prefixTokens + oldGrid * oldGrid) * c, "position embedding size")
        var out = [Float](repeating: 0, count: (prefixTokens + newGrid * newGrid) * c)
        for i in 0..<(prefixTokens * c) { out[i] = source[i] }
        let tx = taps(input: oldGrid, output: newGrid, antialias: antialias)
        // Horizontal pass: (oldGrid rows, newGrid columns, C).
        var rows = [Double](repeating: 0, count: oldGrid * newGrid * c)
        for y in 0..<oldGrid {
            for x in 0..<newGrid {
                for (j, w) in zip(tx[x].indices, tx[x].weights) {
                    let src = (prefixTokens + y * oldGrid + j) * c, dst = (y * newGrid + x) * c
                    for ch in 0..<c { rows[dst + ch] += w * Double(source[src + ch]) }
                }
            }
        }
        // Vertical pass.
        for y in 0..<newGrid {
            for x in 0..<newGrid {
                let dst = (prefixTokens + y * newGrid + x) * c
                var acc = [Double](repeating: 0, count: c)
                for (j, w) in zip(tx[y].indices, tx[y].weights) {
                    let src = (j * newGrid + x) * c
                    for ch in 0..<c { acc[ch] += w * rows[src + ch] }
                }
                for ch in 0..<c { out[dst + ch] = Float(acc[ch]) }
            }
        }
        return out
    }
}
