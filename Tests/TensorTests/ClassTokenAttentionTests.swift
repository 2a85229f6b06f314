import Tensor
import Testing

private func values(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 500
    }
}

private func maximumDifference(_ x: [Float], _ y: [Float]) -> Float {
    zip(x, y).map { abs($0 - $1) }.max() ?? 0
}

/// The class token's attention against the full f32 kernel (itself checked against a naive loop,
/// finite differences and timm): the forward is row 0 of each image, and the backward is the full
/// backward of an output gradient that is zero outside the class rows.
@Suite struct ClassTokenAttentionTests {
    let b = 3, t = 11, h = 3, d = 8
    var c: Int { h * d }

    @Test(arguments: [1, 2])
    func matchesFullAttentionOnTheClassRows(workers: Int) {
        if workers > 1 { ParallelRows.useOwnThreads(workers) }
        defer { ParallelRows.useBLASThreads() }
        let qkv = values(b * t * 3 * c, seed: 3)
        let classGradient = values(b * c, seed: 4)
        var fullOut = [Float](repeating: 0, count: b * t * c), fullP = [Float](repeating: 0, count: b * h * t * t)
        Attention.forward(output: &fullOut, probabilities: &fullP, qkv: qkv, batch: b, tokens: t, heads: h, headDim: d)
        var fullGradient = [Float](repeating: 0, count: b * t * c)
        for image in 0..<b { for j in 0..<c { fullGradient[image * t * c + j] = classGradient[image * c + j] } }
        var fullDQKV = [Float](repeating: .nan, count: qkv.count), scratch = fullP
        Attention.backward(qkvGradient: &fullDQKV, scratch: &scratch, outputGradient: fullGradient, qkv: qkv,
                           probabilities: fullP, batch: b, tokens: t, heads: h, headDim: d)

        var out = [Float](repeating: .nan, count: b * c), p = [Float](repeating: .nan, count: b * h * t)
        var dqkv = [Float](repeating: .nan, count: qkv.count)
        qkv.withUnsafeBufferPointer { x in
            ClassTokenAttention.forward(output: &out, probabilities: &p, qkv: .float32(x.baseAddress!),
                                        batch: b, tokens: t, heads: h, headDim: d)
            ClassTokenAttention.backward(qkvGradient: &dqkv, outputGradient: classGradient, qkv: .float32(x.baseAddress!),
                                         probabilities: p, batch: b, tokens: t, heads: h, headDim: d)
        }
        let classOut = (0..<b).flatMap { fullOut[($0 * t * c)..<($0 * t * c + c)] }
        let classP = (0..<(b * h)).flatMap { fullP[($0 * t * t)..<($0 * t * t + t)] }
        #expect(maximumDifference(out, classOut) < 1e-5)
        #expect(maximumDifference(p, classP) < 1e-6)
        #expect(!dqkv.contains { $0.isNaN }, "every element of dL/dqkv is written")
        #expect(maximumDifference(dqkv, fullDQKV) < 1e-5)
        #expect(fullDQKV.contains { $0 != 0 })
    }

    /// bf16 qkv is read as the f32 values it stands for.
    @Test func readsBFloat16AsItsValues() {
        let bits = values(b * t * 3 * c, seed: 5).map(BFloat16.bits)
        let widened = bits.map(BFloat16.float)
        let gradient = values(b * c, seed: 6)
        var out32 = [Float](repeating: 0, count: b * c), p32 = [Float](repeating: 0, count: b * h * t)
        var out16 = out32, p16 = p32
        var d32 = [Float](repeating: 0, count: bits.count), d16 = d32
        widened.withUnsafeBufferPointer { x in
            ClassTokenAttention.forward(output: &out32, probabilities: &p32, qkv: .float32(x.baseAddress!),
                                        batch: b, tokens: t, heads: h, headDim: d)
            ClassTokenAttention.backward(qkvGradient: &d32, outputGradient: gradient, qkv: .float32(x.baseAddress!),
                                         probabilities: p32, batch: b, tokens: t, heads: h, headDim: d)
        }
        bits.withUnsafeBufferPointer { x in
            ClassTokenAttention.forward(output: &out16, probabilities: &p16, qkv: .bfloat16(x.baseAddress!),
                                        batch: b, tokens: t, heads: h, headDim: d)
            ClassTokenAttention.backward(qkvGradient: &d16, outputGradient: gradient, qkv: .bfloat16(x.baseAddress!),
                                         probabilities: p16, batch: b, tokens: t, heads: h, headDim: d)
        }
        #expect(out16 == out32)
        #expect(p16 == p32)
        #expect(d16 == d32)
    }
}
