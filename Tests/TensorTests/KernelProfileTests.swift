import Tensor
import Testing

/// `KernelProfile` records each kernel call by kind and shape only while recording, with the
/// FLOPs of its products. (Other suites may run kernels meanwhile: the sites checked are this
/// test's own shapes.)
@Suite(.serialized) struct KernelProfileTests {
    @Test func recordsCallsShapesAndFLOPsOnlyWhileRecording() {
        let n = 5, c = 4, oc = 3
        let input = [Float](repeating: 1, count: n * c), weight = [Float](repeating: 0.5, count: oc * c)
        var output = [Float](repeating: 0, count: n * oc), mean = [Float](repeating: 0, count: n), rstd = mean
        Linear.forward(output: &output, input: input, weight: weight, bias: nil, rows: n, inFeatures: c, outFeatures: oc)
        KernelProfile.start()
        for _ in 0..<2 {
            Linear.forward(output: &output, input: input, weight: weight, bias: nil, rows: n, inFeatures: c, outFeatures: oc)
        }
        let normWeight = [Float](repeating: 1, count: c), normBias = [Float](repeating: 0, count: c)
        var normOutput = [Float](repeating: 0, count: n * c)
        normOutput.withUnsafeMutableBufferPointer { y in
            LayerNorm.forward(output: .float32(y.baseAddress!), mean: &mean, rstd: &rstd, input: input, weight: normWeight,
                              bias: normBias, rows: n, channels: c, epsilon: 1e-6)
        }
        let recorded = KernelProfile.stop()
        Linear.forward(output: &output, input: input, weight: weight, bias: nil, rows: n, inFeatures: c, outFeatures: oc)

        func site(_ kernel: String, _ shape: String) -> KernelProfile.Totals? {
            recorded.first { $0.key.kernel == kernel && $0.key.shape == shape }?.value
        }
        let linear = site("linear forward, openblas fp32", "5×4→3")
        #expect(linear?.calls == 2)
        #expect(linear?.flops == 2 * 2 * Double(n * c * oc))
        #expect((linear?.seconds ?? 0) > 0)
        let norm = site("layer norm forward", "5×4")
        #expect(norm?.calls == 1, "one entry point's call is counted once")
        #expect(norm?.flops == 0)
        #expect(KernelProfile.stop().isEmpty, "nothing is recorded after stop")
    }
}
