import Optimization
import Testing

/// A group's `learningRateScale` acts exactly as running that group at the scaled rate (torch's
/// param group with its own `lr`), for every optimizer.
@Suite struct LearningRateScaleTests {
    static let optimizers: [@Sendable () throws -> any Optimizer] = [
        { try SGD(momentum: 0.9, nesterov: true) }, { try AdamW() }, { try RMSprop(alpha: 0.9, epsilon: 0.0316, momentum: 0.9) },
    ]

    @Test(arguments: 0..<3)
    func aScaledGroupStepsAsItsOwnRate(optimizerIndex: Int) throws {
        let scaled = try Self.optimizers[optimizerIndex](), first = try Self.optimizers[optimizerIndex](),
            second = try Self.optimizers[optimizerIndex]()
        var together: [Float] = (0..<8).map { Float($0) * 0.1 - 0.3 }
        var alone = together
        for step in 0..<3 {
            let gradients: [Float] = (0..<8).map { Float(($0 * 7 + step * 3) % 11) * 0.05 - 0.2 }
            together.withUnsafeMutableBufferPointer { p in
                gradients.withUnsafeBufferPointer { g in
                    scaled.step(parameters: p, gradients: g, groups: [
                        ParameterGroup(offset: 0, count: 4, weightDecay: 0.01),
                        ParameterGroup(offset: 4, count: 4, weightDecay: 0.01, learningRateScale: 2),
                    ], learningRate: 0.25)
                }
            }
            alone.withUnsafeMutableBufferPointer { p in
                gradients.withUnsafeBufferPointer { g in
                    first.step(parameters: p, gradients: g, groups: [ParameterGroup(offset: 0, count: 4, weightDecay: 0.01)],
                               learningRate: 0.25)
                    second.step(parameters: p, gradients: g, groups: [ParameterGroup(offset: 4, count: 4, weightDecay: 0.01)],
                                learningRate: 0.5)
                }
            }
            #expect(together.map(\.bitPattern) == alone.map(\.bitPattern), "step \(step)")
        }
    }
}
