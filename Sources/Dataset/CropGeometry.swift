import Foundation
import Randomness

/// Which part of a stored image becomes the model's input, and how it is scaled.
///
/// The source `region` (rows `top..<top+height`, columns `left..<left+width`) is resampled to a
/// virtual image of `scaledHeight` x `scaledWidth`; the output is the window of that image at
/// (`windowTop`, `windowLeft`) of `outputHeight` x `outputWidth`, optionally mirrored. A random
/// resized crop resamples its crop to the whole output; resize-then-centre-crop resamples the whole
/// image to the resized size and keeps the centre window, so only the kept pixels are computed.
public struct CropGeometry: Sendable, Equatable {
    /// First source row of the region.
    public var top: Int
    /// First source column of the region.
    public var left: Int
    /// Region rows.
    public var height: Int
    /// Region columns.
    public var width: Int
    /// Height the region is resampled to.
    public var scaledHeight: Int
    /// Width the region is resampled to.
    public var scaledWidth: Int
    /// First row of the scaled image kept.
    public var windowTop: Int
    /// First column of the scaled image kept.
    public var windowLeft: Int
    /// Rows kept (output height).
    public var outputHeight: Int
    /// Columns kept (output width).
    public var outputWidth: Int
    /// Mirror left-right (torchvision's horizontal flip).
    public var flip: Bool
    /// Mirror top-bottom (torchvision's vertical flip).
    public var verticalFlip: Bool

    /// Memberwise; see the type's discussion for each field.
    public init(top: Int, left: Int, height: Int, width: Int, scaledHeight: Int, scaledWidth: Int,
                windowTop: Int, windowLeft: Int, outputHeight: Int, outputWidth: Int, flip: Bool, verticalFlip: Bool = false) {
        self.top = top
        self.left = left
        self.height = height
        self.width = width
        self.scaledHeight = scaledHeight
        self.scaledWidth = scaledWidth
        self.windowTop = windowTop
        self.windowLeft = windowLeft
        self.outputHeight = outputHeight
        self.outputWidth = outputWidth
        self.flip = flip
        self.verticalFlip = verticalFlip
    }

    /// torchvision `resized_crop(top, left, height, width, [size, size])`, then an optional flip.
    public static func resizedCrop(top: Int, left: Int, height: Int, width: Int, size: Int, flip: Bool) -> CropGeometry {
        CropGeometry(top: top, left: left, height: height, width: width, scaledHeight: size, scaledWidth: size,
                     windowTop: 0, windowLeft: 0, outputHeight: size, outputWidth: size, flip: flip)
    }

    /// torchvision `Resize(resizeSize)` (the shorter side becomes `resizeSize`, the longer side
    /// `int(resizeSize * long / short)`, truncated) then `CenterCrop(cropSize)` (offsets
    /// `int(round((scaled - crop) / 2))`, Python rounding: half to even).
    /// - Precondition: `resizeSize >= cropSize`, so the crop lies inside the resized image.
    public static func resizeCenterCrop(height: Int, width: Int, resizeSize: Int, cropSize: Int) -> CropGeometry {
        precondition(resizeSize >= cropSize, "resize size \(resizeSize) is smaller than the crop \(cropSize)")
        let scaledHeight: Int, scaledWidth: Int
        if height <= width {
            scaledHeight = resizeSize
            scaledWidth = Int(Double(resizeSize) * Double(width) / Double(height))
        } else {
            scaledWidth = resizeSize
            scaledHeight = Int(Double(resizeSize) * Double(height) / Double(width))
        }
        func offset(_ scaled: Int) -> Int {
            Int((Double(scaled - cropSize) / 2).rounded(.toNearestOrEven))
        }
        return CropGeometry(top: 0, left: 0, height: height, width: width, scaledHeight: scaledHeight, scaledWidth: scaledWidth,
                            windowTop: offset(scaledHeight), windowLeft: offset(scaledWidth),
                            outputHeight: cropSize, outputWidth: cropSize, flip: false)
    }

    /// torchvision `RandomResizedCrop.get_params`: up to ten tries of a random area fraction in
    /// `scale` and a log-uniform aspect ratio in `ratio`; a try fits when the rounded crop lies
    /// inside the image, and its top-left corner is then uniform. If no try fits, the centre crop
    /// of the whole image clamped to the ratio range.
    public static func randomCropRegion(height: Int, width: Int, scale: ClosedRange<Double>, ratio: ClosedRange<Double>,
                                        using generator: inout SeededRandom) -> (top: Int, left: Int, height: Int, width: Int) {
        let area = Double(height * width)
        let logLow = log(ratio.lowerBound), logHigh = log(ratio.upperBound)
        for _ in 0..<10 {
            let targetArea = area * generator.uniform(scale.lowerBound, scale.upperBound)
            let aspect = exp(generator.uniform(logLow, logHigh))
            let w = Int((targetArea * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((targetArea / aspect).squareRoot().rounded(.toNearestOrEven))
            if w > 0, w <= width, h > 0, h <= height {
                let top = generator.below(height - h + 1)
                let left = generator.below(width - w + 1)
                return (top, left, h, w)
            }
        }
        let inRatio = Double(width) / Double(height)
        var w = width, h = height
        if inRatio < ratio.lowerBound {
            h = Int((Double(w) / ratio.lowerBound).rounded(.toNearestOrEven))
        } else if inRatio > ratio.upperBound {
            w = Int((Double(h) * ratio.upperBound).rounded(.toNearestOrEven))
        }
        return ((height - h) / 2, (width - w) / 2, h, w)
    }
}
