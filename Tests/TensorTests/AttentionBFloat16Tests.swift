import Tensor
import Testing

/// ‖x − y‖ / ‖y‖.
private func normRelativeError(_ x: [Float], _ y: [Float]) -> Double {
    var difference = 0.0, norm = 0.0
    for (a, b) in zip(x, y) {
        difference += Double(a - b) * Double(a - b)
        norm += Double(b) * Double(b)
    }
    return (difference / norm).squareRoot()
}

private func values(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 500
    }
}

/// Attention on bf16 operands rounded once against the f32 kernel (itself checked against a naive
/// loop and finite differences) on the same rounded q, k, v: they differ only by the rounding of
/// the probabilities and gradients, about 2⁻⁹ relative.
@Suite struct AttentionBFloat16Tests {
    @Test(.enabled(if: GEMMSelection.onednnBF16Kernel != nil, "oneDNN has no bf16 matrix product on this CPU"),
          arguments: [1, 2])
    func matchesFloat32OnRoundedOperands(workers: Int) {
        if workers > 1 { ParallelRows.useOwnThreads(workers) }
        defer { ParallelRows.useBLASThreads() }
        let b = 3, t = 11, h = 3, d = 8, c = h * d
        let qkv = values(b * t * 3 * c, seed: 1).map { BFloat16.float(BFloat16.bits($0)) }
        let outputGradient = values(b * t * c, seed: 2)
        var out32 = [Float](repeating: 0, count: b * t * c), p32 = [Float](repeating: 0, count: b * h * t * t)
        var dqkv32 = [Float](repeating: 0, count: qkv.count), scratch32 = p32
        Attention.forward(output: &out32, probabilities: &p32, qkv: qkv, batch: b, tokens: t, heads: h, headDim: d)
        Attention.backward(qkvGradient: &dqkv32, scratch: &scratch32, outputGradient: outputGradient, qkv: qkv,
                           probabilities: p32, batch: b, tokens: t, heads: h, headDim: d)

        var out16 = [Float](repeating: 0, count: out32.count), scores = [Float](repeating: 0, count: p32.count)
        var p16 = [UInt16](repeating: 0, count: p32.count), qkv16 = [UInt16](repeating: 0, count: qkv.count)
        out16.withUnsafeMutableBufferPointer { out in
            Attention.forwardBF16(output: .float32(out.baseAddress!), probabilities: &p16, qkvBF16: &qkv16, scores: &scores,
                                  qkv: qkv, batch: b, tokens: t, heads: h, headDim: d)
        }
        #expect(qkv16.map(BFloat16.float) == qkv)
        #expect(normRelativeError(p16.map(BFloat16.float), p32) < 4e-3)
        #expect(normRelativeError(out16, out32) < 4e-3)
        // The output rounded to bf16 in the P·V product (qkv16 already holds the rounded qkv).
        var outBF16 = [UInt16](repeating: 0, count: out32.count)
        outBF16.withUnsafeMutableBufferPointer { out in
            Attention.forwardBF16(output: .bfloat16(out.baseAddress!), probabilities: &p16, qkvBF16: &qkv16,
                                  scores: &scores, qkv: nil, batch: b, tokens: t, heads: h, headDim: d)
        }
        #expect(normRelativeError(outBF16.map(BFloat16.float), out32) < 4e-3)

        var dqkv16 = [Float](repeating: 0, count: qkv.count), dout16 = [UInt16](repeating: 0, count: outputGradient.count)
        var dScores16 = [UInt16](repeating: 0, count: p32.count)
        dqkv16.withUnsafeMutableBufferPointer { dqkv in
            Attention.backwardBF16(qkvGradient: .float32(dqkv.baseAddress!), outputGradient: outputGradient, qkvBF16: qkv16,
                                   probabilities: p16, outputGradientBF16: &dout16, scoresGradientBF16: &dScores16,
                                   batch: b, tokens: t, heads: h, headDim: d)
        }
        #expect(normRelativeError(dqkv16, dqkv32) < 1e-2)

        // dL/dqkv written in bf16, from the output gradient already in bf16: the f32 result rounded.
        var dqkvBF16 = [UInt16](repeating: 0, count: qkv.count)
        dqkvBF16.withUnsafeMutableBufferPointer { dqkv in
            Attention.backwardBF16(qkvGradient: .bfloat16(dqkv.baseAddress!), outputGradient: nil, qkvBF16: qkv16,
                                   probabilities: p16, outputGradientBF16: &dout16, scoresGradientBF16: &dScores16,
                                   batch: b, tokens: t, heads: h, headDim: d)
        }
        #expect(normRelativeError(dqkvBF16.map(BFloat16.float), dqkv16) < 4e-3)
    }
}
