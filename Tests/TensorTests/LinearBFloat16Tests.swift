import Tensor
import Testing

/// The bf16-gradient variants of `Linear.backward` and the bf16 GELU against the paths they
/// replace in the MLP's backward: the same products on the same bf16 operands.
@Suite struct LinearBFloat16Tests {
    static let hasBF16 = GEMMSelection.onednnBF16Kernel != nil

    /// Values exactly representable in bf16, in [-scale, scale].
    private static func values(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let x = Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000 * scale
            return BFloat16.float(BFloat16.bits(x))
        }
    }

    private static func maxError(_ x: [Float], _ y: [Float]) -> Float {
        zip(x, y).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
    }

    /// The three gradients of `Linear.backward(outputGradientBF16:)`, or of `backward(outputGradient:)`
    /// on the same values in f32 (bf16 operands both ways).
    private static func gradients(rows n: Int, inFeatures c: Int, outFeatures oc: Int, input: [Float], weight: [Float],
                                  outputGradient: [Float], asBF16: Bool) -> [[Float]] {
        var dx = [Float](repeating: 0, count: n * c), dw = [Float](repeating: 0, count: oc * c)
        var db = [Float](repeating: 0, count: oc)
        let dout16 = outputGradient.map(BFloat16.bits)
        if asBF16 {
            Linear.backward(inputGradient: &dx, accumulateInput: false, weightGradient: &dw, biasGradient: &db,
                            outputGradientBF16: dout16, inputBF16: input.map(BFloat16.bits), weight: weight, rows: n, inFeatures: c,
                            outFeatures: oc, partialSums: PartialSums())
        } else {
            Linear.backward(inputGradient: &dx, accumulateInput: false, weightGradient: &dw, biasGradient: &db,
                            outputGradient: outputGradient, input: input, weight: weight, rows: n, inFeatures: c,
                            outFeatures: oc, partialSums: PartialSums(), mode: .onednnBF16)
        }
        return [dx, dw, db]
    }

    @Test(.enabled(if: hasBF16, "oneDNN has no bf16 matrix product on this CPU"))
    func bf16OutputGradientMatchesRoundedF32() {
        let (n, c, oc) = (600, 48, 160)
        let input = Self.values(n * c, seed: 1), weight = Self.values(oc * c, seed: 2)
        let dout = Self.values(n * oc, seed: 3)
        ParallelRows.useOwnThreads(2)
        defer { ParallelRows.useBLASThreads() }
        let viaBF16 = Self.gradients(rows: n, inFeatures: c, outFeatures: oc, input: input, weight: weight,
                                     outputGradient: dout, asBF16: true)
        let viaF32 = Self.gradients(rows: n, inFeatures: c, outFeatures: oc, input: input, weight: weight,
                                    outputGradient: dout, asBF16: false)
        for (name, pair) in zip(["input", "weight", "bias"], zip(viaBF16, viaF32)) {
            #expect(Self.maxError(pair.0, pair.1) <= 1e-5, "\(name) gradient")
        }
    }

    @Test(.enabled(if: hasBF16, "oneDNN has no bf16 matrix product on this CPU"))
    func bf16InputGradientIsTheRoundedF32One() {
        let (n, c, oc) = (600, 160, 48)
        let input = Self.values(n * c, seed: 4), weight = Self.values(oc * c, seed: 5)
        let dout = Self.values(n * oc, seed: 6)
        let input16 = input.map(BFloat16.bits)
        ParallelRows.useOwnThreads(2)
        defer { ParallelRows.useBLASThreads() }
        var dx16 = [UInt16](repeating: 0, count: n * c), dw = [Float](repeating: 0, count: oc * c)
        var db = [Float](repeating: 0, count: oc)
        Linear.backward(inputGradientBF16: &dx16, weightGradient: &dw, biasGradient: &db, outputGradient: dout,
                        inputBF16: input16, weight: weight, rows: n, inFeatures: c, outFeatures: oc, partialSums: PartialSums())
        var dx = [Float](repeating: 0, count: n * c), dwRef = [Float](repeating: 0, count: oc * c)
        var dbRef = [Float](repeating: 0, count: oc)
        Linear.backward(inputGradient: &dx, accumulateInput: false, weightGradient: &dwRef, biasGradient: &dbRef,
                        outputGradient: dout, input: input, weight: weight, rows: n, inFeatures: c, outFeatures: oc,
                        partialSums: PartialSums(), mode: .onednnBF16)
        // Rounded once in the epilogue: within half a bf16 step (2⁻⁹ relative) of the f32 gradient.
        let rounding = zip(dx16, dx).map { abs(BFloat16.float($0) - $1) / max(abs($1), 1e-6) }.max() ?? 0
        #expect(rounding <= 1.0 / 256)
        #expect(Self.maxError(dw, dwRef) <= 1e-5)
        #expect(Self.maxError(db, dbRef) <= 1e-5)
    }

    /// Split across workers, the bf16 GELU is oneDNN's kernel on the whole range, bit for bit.
    @Test(.enabled(if: hasBF16, "oneDNN has no bf16 kernels on this CPU"))
    func bf16GELUSplitsAcrossWorkers() {
        let count = 50_001
        let x16 = Self.values(count, seed: 7, scale: 5).map(BFloat16.bits)
        let dy16 = Self.values(count, seed: 8).map(BFloat16.bits)
        var whole = [UInt16](repeating: 0, count: count), wholeGradient = whole
        GELU.forward(outputBF16: &whole, inputBF16: x16, count: count)
        GELU.backward(inputGradientBF16: &wholeGradient, outputGradientBF16: dy16, inputBF16: x16, count: count)
        ParallelRows.useOwnThreads(2)
        defer { ParallelRows.useBLASThreads() }
        var split = [UInt16](repeating: 0, count: count), splitGradient = dy16
        GELU.forward(outputBF16: &split, inputBF16: x16, count: count)
        splitGradient.withUnsafeMutableBufferPointer { g in  // in place, as the model calls it
            GELU.backward(inputGradientBF16: g.baseAddress!, outputGradientBF16: g.baseAddress!, inputBF16: x16, count: count)
        }
        #expect(split == whole)
        #expect(splitGradient == wholeGradient)
    }
}
