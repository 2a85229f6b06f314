@testable import Tensor
import Testing

/// oneDNN's bf16 softmax and GELU against our f32 kernels (checked against PyTorch through the
/// timm fixtures) on the same bf16 inputs: they differ by bf16 rounding of the outputs, about
/// 2⁻⁹ relative per value.
@Suite struct OneDNNKernelsTests {
    static let hasBF16 = GEMMSelection.onednnBF16Kernel != nil

    private static func values(_ count: Int, seed: UInt64, scale: Float = 4) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let rounded = Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000 * scale
            return BFloat16.float(BFloat16.bits(rounded))
        }
    }

    private static func maxRelativeError(_ x: [Float], _ y: [Float], floor: Float) -> Float {
        zip(x, y).map { abs($0 - $1) / max(abs($1), floor) }.max() ?? 0
    }

    @Test(.enabled(if: hasBF16, "oneDNN has no bf16 kernels on this CPU"))
    func softmaxMatchesFloat32() {
        let rows = 7, columns = 197
        let scores = Self.values(rows * columns, seed: 3)
        var expected = scores
        Softmax.forwardInPlace(&expected, rows: rows, columns: columns, stride: columns, scale: 1)
        var probabilities = [UInt16](repeating: 0, count: scores.count)
        OneDNNKernels.softmaxForward(rows: rows, columns: columns, scores: scores, probabilities: &probabilities)
        #expect(Self.maxRelativeError(probabilities.map(BFloat16.float), expected, floor: 1e-3) < 1e-2)

        // Backward on the bf16 probabilities: dx = y ⊙ (dy − Σ dy·y).
        let y = probabilities.map(BFloat16.float), dy = Self.values(scores.count, seed: 4)
        var expectedGradient = dy
        Softmax.backwardInPlace(&expectedGradient, probabilities: y, rows: rows, columns: columns, stride: columns, scale: 1)
        let dy16 = dy.map(BFloat16.bits)
        var dx16 = [UInt16](repeating: 0, count: scores.count)
        OneDNNKernels.softmaxBackward(rows: rows, columns: columns, probabilities: probabilities,
                                      probabilitiesGradient: dy16, scoresGradient: &dx16)
        // In place (dL/dscores over dL/dprobabilities, as attention's backward runs it): the same values.
        var inPlace = dy16
        inPlace.withUnsafeMutableBufferPointer { gradient in
            OneDNNKernels.softmaxBackward(rows: rows, columns: columns, probabilities: probabilities,
                                          probabilitiesGradient: gradient.baseAddress!, scoresGradient: gradient.baseAddress!)
        }
        #expect(inPlace == dx16)
        let dx = dx16.map(BFloat16.float)
        let scale = expectedGradient.map(abs).max()!
        #expect(Self.maxRelativeError(dx, expectedGradient, floor: scale * 1e-2) < 2e-2)
    }

    @Test(.enabled(if: hasBF16, "oneDNN has no bf16 kernels on this CPU"))
    func geluMatchesFloat32() {
        let count = 5000
        let x = Self.values(count, seed: 5), dy = Self.values(count, seed: 6, scale: 1)
        var expected = [Float](repeating: 0, count: count), expectedGradient = expected
        GELU.forward(output: &expected, input: x, count: count)
        GELU.backward(inputGradient: &expectedGradient, outputGradient: dy, input: x, count: count)
        let x16 = x.map(BFloat16.bits), dy16 = dy.map(BFloat16.bits)
        var y16 = [UInt16](repeating: 0, count: count), dx16 = y16
        OneDNNKernels.geluForward(count: count, input: x16, output: &y16)
        OneDNNKernels.geluBackward(count: count, input: x16, outputGradient: dy16, inputGradient: &dx16)
        #expect(Self.maxRelativeError(y16.map(BFloat16.float), expected, floor: 1e-2) < 1e-2)
        #expect(Self.maxRelativeError(dx16.map(BFloat16.float), expectedGradient, floor: 1e-2) < 1e-2)
    }
}
