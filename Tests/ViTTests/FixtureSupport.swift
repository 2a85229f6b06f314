import Foundation
import TestSupport
import SafeTensors
import ViT
import XCTest

/// Paths and comparisons shared by the ViT tests.
enum Fixtures {
    /// `Tests/Fixtures/vit/<name>`.
    static func path(_ name: String) -> String {
        TestSupport.fixtures("vit").appendingPathComponent(name).path
    }

    static func open(_ name: String) throws -> SafeTensorsFile { try SafeTensorsFile(path: path(name)) }

    /// A temporary directory removed at the end of the test.
    static func temporaryDirectory(_ test: XCTestCase) throws -> String {
        let dir = TestSupport.temporaryPath("vit-tests")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir.path
    }
}

/// The inputs and expected outputs of one fixture batch.
struct FixtureBatch {
    var images: [Float]
    var labels: [Int32]
    var batch: Int

    init(_ file: SafeTensorsFile, images name: String = "x") throws {
        images = try file.floats(name)
        labels = try file.int64s("labels").map { Int32($0) }
        batch = labels.count
    }
}

extension VisionTransformer {
    /// Forward without kept activations, logits copied out.
    func logits(_ images: [Float], batch: Int) -> [Float] {
        images.withUnsafeBufferPointer { Array(forward(images: $0.baseAddress!, batch: batch, keepActivations: false)) }
    }

    /// Zeroes gradients and runs loss + backward.
    func lossAndGradients(_ batch: FixtureBatch, classWeights: [Float]? = nil, labelSmoothing: Float = 0) throws -> Float {
        zeroGradients()
        return try batch.images.withUnsafeBufferPointer { x in
            try batch.labels.withUnsafeBufferPointer { y in
                if let classWeights {
                    return try classWeights.withUnsafeBufferPointer { w in
                        try lossAndGradients(images: x.baseAddress!, labels: y.baseAddress!, batch: batch.batch,
                                             classWeights: w.baseAddress!, labelSmoothing: labelSmoothing).mean
                    }
                }
                return try lossAndGradients(images: x.baseAddress!, labels: y.baseAddress!, batch: batch.batch,
                                            labelSmoothing: labelSmoothing).mean
            }
        }
    }

    /// The gradient of view `index` as an array.
    func gradientValues(_ index: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: gradients.base + layout.views[index].offset, count: layout.views[index].count))
    }

    /// The parameter of view `index` as an array.
    func parameterValues(_ index: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: parameter(index), count: layout.views[index].count))
    }
}
