import Foundation
import Randomness

/// The reference's image transforms (FairTune `utilities/presets.py`), to the model's input size.
///
/// - train: `RandomResizedCrop(size)` (scale 0.08-1, ratio 3/4-4/3, bilinear, antialias) then
///   `RandomHorizontalFlip(0.5)`, then normalisation.
/// - flips (the synthetic study's augmentation): `Resize((size, size))` of the whole image, then
///   `RandomHorizontalFlip(0.5)` and `RandomVerticalFlip(0.5)`; resize: the same without flips.
/// - eval: `Resize(resizeSize)` (shorter side, bilinear, antialias) then `CenterCrop(size)`, then
///   normalisation.
/// Randomness comes only from the generator passed in, seeded per epoch and sample by the loader.
public struct ImageTransform: Sendable, Equatable {
    /// Training augmentation or evaluation preprocessing, with their parameters.
    public enum Mode: Sendable, Equatable {
        /// Random resized crop (area fraction `scale`, aspect `ratio`) and a horizontal flip.
        case train(scale: ClosedRange<Double>, ratio: ClosedRange<Double>, flipProbability: Double)
        /// The whole image resized to the output size, flipped left-right and top-bottom each with
        /// `probability` (0: no augmentation).
        case flips(probability: Double)
        /// Resize the shorter side to `resizeSize`, then centre crop.
        case eval(resizeSize: Int)
    }

    /// Which transform, with its parameters.
    public var mode: Mode
    /// Output height and width (the model's image size).
    public var size: Int
    /// Per-channel mean and std of images scaled to [0, 1] (torchvision `Normalize`).
    public var mean: [Double]
    /// Per-channel std (positive).
    public var std: [Double]

    /// Output value = stored byte * normScale[c] + normShift[c].
    private let normScale: [Float]
    private let normShift: [Float]

    /// - Precondition: `size >= 1`, three means, three positive stds; for eval `resizeSize >= size`.
    public init(mode: Mode, size: Int, mean: [Double], std: [Double]) {
        precondition(size >= 1, "image size \(size) must be positive")
        precondition(mean.count == 3 && std.count == 3 && std.allSatisfy { $0 > 0 }, "need 3 means and 3 positive stds")
        if case let .eval(resizeSize) = mode {
            precondition(resizeSize >= size, "resize size \(resizeSize) is smaller than the crop \(size)")
        }
        self.mode = mode
        self.size = size
        self.mean = mean
        self.std = std
        normScale = std.map { Float(1 / (255 * $0)) }
        normShift = zip(mean, std).map { Float(-$0 / $1) }
    }

    /// The reference's training transform at `size`.
    public static func training(size: Int = 224, mean: [Double], std: [Double]) -> ImageTransform {
        ImageTransform(mode: .train(scale: 0.08...1, ratio: (3.0 / 4)...(4.0 / 3), flipProbability: 0.5),
                       size: size, mean: mean, std: std)
    }

    /// Training with horizontal and vertical flips only (`probability` 0.5), or with no augmentation
    /// at all (`probability` 0): the whole image resized to `size`.
    public static func flipping(size: Int, probability: Double, mean: [Double], std: [Double]) -> ImageTransform {
        ImageTransform(mode: .flips(probability: probability), size: size, mean: mean, std: std)
    }

    /// The reference's evaluation transform at `size`; `resizeSize` defaults to
    /// `defaultResizeSize(for: size)` (256 for 224).
    public static func evaluation(size: Int = 224, resizeSize: Int? = nil, mean: [Double], std: [Double]) -> ImageTransform {
        ImageTransform(mode: .eval(resizeSize: resizeSize ?? defaultResizeSize(for: size)), size: size, mean: mean, std: std)
    }

    /// `floor(size / 0.875)`: the usual 0.875 crop fraction (256 for 224, as the reference).
    public static func defaultResizeSize(for size: Int) -> Int {
        Int((Double(size) / 0.875).rounded(.down))
    }

    /// The crop, scale and flip for one image of `height` x `width`.
    public func geometry(height: Int, width: Int, using generator: inout SeededRandom) -> CropGeometry {
        switch mode {
        case let .train(scale, ratio, flipProbability):
            let region = CropGeometry.randomCropRegion(height: height, width: width, scale: scale, ratio: ratio, using: &generator)
            let flip = generator.nextUnit() < flipProbability
            return .resizedCrop(top: region.top, left: region.left, height: region.height, width: region.width, size: size, flip: flip)
        case let .flips(probability):
            // Both draws always, so the stream does not depend on the first answer.
            let horizontal = generator.nextUnit() < probability, vertical = generator.nextUnit() < probability
            return CropGeometry(top: 0, left: 0, height: height, width: width, scaledHeight: size, scaledWidth: size,
                                windowTop: 0, windowLeft: 0, outputHeight: size, outputWidth: size,
                                flip: horizontal, verticalFlip: vertical)
        case let .eval(resizeSize):
            return .resizeCenterCrop(height: height, width: width, resizeSize: resizeSize, cropSize: size)
        }
    }

    /// Transforms one uint8 (height, width, 3) image into float (3, size, size), normalised.
    public func apply(source: UnsafePointer<UInt8>, height: Int, width: Int, output: UnsafeMutablePointer<Float>,
                      using generator: inout SeededRandom, scratch: ResampleScratch) {
        apply(source: source, height: height, width: width, geometry: geometry(height: height, width: width, using: &generator),
              output: output, scratch: scratch)
    }

    /// Transforms one image with a given geometry (for tests against fixed reference crops).
    public func apply(source: UnsafePointer<UInt8>, height: Int, width: Int, geometry: CropGeometry,
                      output: UnsafeMutablePointer<Float>, scratch: ResampleScratch) {
        normScale.withUnsafeBufferPointer { scale in
            normShift.withUnsafeBufferPointer { shift in
                BilinearResampler.resample(source: source, sourceHeight: height, sourceWidth: width, geometry: geometry,
                                           scale: scale.baseAddress!, shift: shift.baseAddress!, output: output, scratch: scratch)
            }
        }
    }

    /// Equal when mode, size, mean and std are (the derived tables follow from them).
    public static func == (a: ImageTransform, b: ImageTransform) -> Bool {
        a.mode == b.mode && a.size == b.size && a.mean == b.mean && a.std == b.std
    }
}
