import Distributed
import Foundation
import Optimization
import ViT

/// One data-parallel optimizer step, run alike on every rank: zero the gradients → the model's loss
/// and gradients with sum reduction on this rank's part of the global batch → one allreduce of a
/// fused buffer (trainable gradients + [Σwℓ, Σw, stop flag, non-finite flag]) → divide by the global
/// Σw → clip → finiteness check → optimizer step.
///
/// Dividing the summed gradients by the global Σw gives exactly the gradient of the global batch's
/// weighted-mean loss whatever the ranks' shares, so every rank applies the same update and the
/// replicas stay identical. `fairtune train` and `fairtune bench train --ranks` both run this step.
public final class DataParallelStep {
    /// What a step did.
    public struct Result: Sendable {
        /// The global batch's weighted-mean loss.
        public var loss: Double
        /// The total gradient norm before clipping.
        public var gradientNorm: Float
        /// Whether any rank asked to stop (every rank sees the same flag).
        public var stopRequested: Bool
        /// Seconds in packing, the allreduce and unpacking.
        public var allreduceSeconds: Double
        /// Set when the loss or a gradient is not finite: what and where; the weights were not updated.
        public var divergence: String?
    }

    /// Scalars of the fused buffer after the gradients.
    private enum Scalar: Int, CaseIterable { case lossSum, weightSum, stop, nonFinite }

    public let model: VisionTransformer
    private let world: Communicator
    private let optimizer: Optimizer
    private let groups: [ParameterGroup]
    private let classWeights: [Float]?
    private let labelSmoothing: Float
    private let clipGradNorm: Double?
    private let fused: FusedGradientBuffer
    private let labels: UnsafeMutableBufferPointer<Int32>
    /// Wait for the slowest rank before the allreduce, so `allreduceSeconds` is communication only
    /// (the benchmark's choice; training does not wait twice).
    public var waitsBeforeReduce = false

    /// A step for batches of at most `localBatch` rows on this rank.
    public init(model: VisionTransformer, world: Communicator, optimizer: Optimizer, groups: [ParameterGroup],
                classWeights: [Double]?, labelSmoothing: Double, clipGradNorm: Double?, localBatch: Int) {
        self.model = model
        self.world = world
        self.optimizer = optimizer
        self.groups = groups
        self.classWeights = classWeights?.map { Float($0) }
        self.labelSmoothing = Float(labelSmoothing)
        self.clipGradNorm = clipGradNorm
        fused = FusedGradientBuffer(ranges: model.trainable.ranges, scalarCount: Scalar.allCases.count)
        labels = .allocate(capacity: max(localBatch, 1))
    }

    deinit { labels.deallocate() }

    /// Trains one step on `rows` images (C, H, W each) and their class labels; `rows` may be 0 on a
    /// rank whose share of the global batch is empty. Collective.
    /// - Parameter stopRequested: polled after the backward; its answer travels in the allreduce.
    public func run(images: UnsafePointer<Float>?, labels batchLabels: UnsafeBufferPointer<Int>, rows: Int,
                    learningRate: Float, stopRequested: () -> Bool) throws -> Result {
        model.zeroGradients()
        var loss = BatchLoss(mean: 0, weightSum: 0)
        if rows > 0, let images {
            for i in 0..<rows { labels[i] = Int32(batchLabels[i]) }
            loss = try (classWeights ?? []).withUnsafeBufferPointer { w in
                try model.lossAndGradients(images: images, labels: labels.baseAddress!, batch: rows,
                                           classWeights: classWeights == nil ? nil : w.baseAddress,
                                           labelSmoothing: labelSmoothing, reduction: .sum)
            }
        }
        if waitsBeforeReduce { try world.barrier() }
        let reduceStart = Date()
        fused.pack(from: model.gradients.base)
        setScalar(.lossSum, Float(loss.sum))
        setScalar(.weightSum, Float(loss.weightSum))
        setScalar(.stop, stopRequested() ? 1 : 0)
        setScalar(.nonFinite, loss.sum.isFinite ? 0 : 1)
        try world.allReduceSum(fused.storage)
        let globalWeight = scalar(.weightSum)
        fused.unpack(into: model.gradients.base, scale: globalWeight > 0 ? 1 / globalWeight : 0)
        let allreduceSeconds = Date().timeIntervalSince(reduceStart)
        let globalLoss = Double(scalar(.lossSum)) / Double(max(globalWeight, .leastNormalMagnitude))

        // The same clip, check and update on every rank.
        let gradients = model.gradients.buffer
        let norm = clipGradNorm.map { GradientClipping.clipByTotalNorm(gradients, groups: groups, maxNorm: $0) }
            ?? GradientClipping.totalNorm(UnsafeBufferPointer(gradients), groups: groups)
        var result = Result(loss: globalLoss, gradientNorm: norm, stopRequested: scalar(.stop) > 0,
                            allreduceSeconds: allreduceSeconds, divergence: nil)
        if scalar(.nonFinite) > 0 || !globalLoss.isFinite || !norm.isFinite {
            result.divergence = divergenceDetail(loss: globalLoss)
            return result
        }
        optimizer.step(parameters: model.parameters.buffer, gradients: UnsafeBufferPointer(gradients),
                       groups: groups, learningRate: learningRate)
        return result
    }

    private func scalar(_ which: Scalar) -> Float { fused.scalar(which.rawValue) }

    private func setScalar(_ which: Scalar, _ value: Float) { fused.setScalar(which.rawValue, value) }

    /// Names the first non-finite gradient's tensor, or the loss.
    private func divergenceDetail(loss: Double) -> String {
        let gradients = UnsafeBufferPointer(model.gradients.buffer)
        if let bad = GradientClipping.firstNonFinite(gradients, groups: groups),
           let view = model.layout.views.first(where: { $0.range.contains(bad.index) }) {
            return "the gradient of \(view.name) is \(bad.value) (loss \(loss))"
        }
        return "the loss is \(loss)"
    }
}
