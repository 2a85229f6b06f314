import Dataset
import HDF5IO
import Randomness
import XCTest

/// The resampler and the train/eval transforms against PyTorch and torchvision outputs
/// (Tests/Fixtures/data/transforms.h5, from data-prep/fixtures/make_transform_fixtures.py).
final class ImageTransformTests: XCTestCase {
    private var file: HDF5File!
    private var source: [UInt8] = []
    private let height = 37, width = 29

    override func setUpWithError() throws {
        file = try HDF5File(path: Fixtures.transforms)
        source = try file.dataset("source").read(as: UInt8.self)
        XCTAssertEqual(source.count, height * width * 3)
    }

    private func integers(_ group: HDF5Group, _ name: String) throws -> [Int] {
        try group.readAttribute(name, as: Int64.self).map { Int($0) }
    }

    /// Largest absolute difference between `expected` and `actual`.
    private func maxDifference(_ expected: [Float], _ actual: [Float]) -> Float {
        XCTAssertEqual(expected.count, actual.count)
        return zip(expected, actual).map { abs($0 - $1) }.max() ?? 0
    }

    private func run(_ transform: ImageTransform, _ geometry: CropGeometry) -> [Float] {
        var output = [Float](repeating: .nan, count: 3 * geometry.outputHeight * geometry.outputWidth)
        let scratch = ResampleScratch()
        source.withUnsafeBufferPointer { s in
            output.withUnsafeMutableBufferPointer { o in
                transform.apply(source: s.baseAddress!, height: height, width: width, geometry: geometry,
                                output: o.baseAddress!, scratch: scratch)
            }
        }
        return output
    }

    func testResampleMatchesTorchInterpolate() throws {
        // mean 0, std 1/255 leaves values in 0...255, as the fixture stores them.
        let identity = ImageTransform(mode: .eval(resizeSize: 1), size: 1, mean: [0, 0, 0], std: [1.0 / 255, 1.0 / 255, 1.0 / 255])
        let cases = try file.group("resample").memberNames()
        XCTAssertEqual(cases.count, 6)
        for name in cases {
            let group = try file.group("resample/\(name)")
            let region = try integers(group, "region"), size = try integers(group, "size")
            let geometry = CropGeometry(top: region[0], left: region[1], height: region[2], width: region[3],
                                        scaledHeight: size[0], scaledWidth: size[1], windowTop: 0, windowLeft: 0,
                                        outputHeight: size[0], outputWidth: size[1], flip: false)
            let expected = try file.dataset("resample/\(name)/expected").read(as: Float.self)
            // float32 weights and sums on both sides: ~1e-6 relative of 255.
            XCTAssertLessThan(maxDifference(expected, run(identity, geometry)), 1e-3, "case \(name) \(region) -> \(size)")
        }
    }

    func testEvalTransformMatchesTorchvision() throws {
        let mean = try file.readAttribute("mean", as: Double.self), std = try file.readAttribute("std", as: Double.self)
        for name in try file.group("eval").memberNames() {
            let group = try file.group("eval/\(name)")
            let resize = try integers(group, "resize_size")[0], crop = try integers(group, "crop_size")[0]
            let transform = ImageTransform.evaluation(size: crop, resizeSize: resize, mean: mean, std: std)
            var generator = SeededRandom(seed: 1)
            let geometry = transform.geometry(height: height, width: width, using: &generator)
            let expected = try file.dataset("eval/\(name)/expected").read(as: Float.self)
            // Normalised values: the 1e-3 of 0..255 above divided by 255 * min(std).
            XCTAssertLessThan(maxDifference(expected, run(transform, geometry)), 2e-5, "case \(name) resize \(resize) crop \(crop)")
        }
    }

    func testTrainTransformWithFixedCropMatchesTorchvision() throws {
        let mean = try file.readAttribute("mean", as: Double.self), std = try file.readAttribute("std", as: Double.self)
        for name in try file.group("train").memberNames() {
            let group = try file.group("train/\(name)")
            let region = try integers(group, "region"), size = try integers(group, "size")[0]
            let flip = try integers(group, "flip")[0] == 1
            let transform = ImageTransform.training(size: size, mean: mean, std: std)
            let geometry = CropGeometry.resizedCrop(top: region[0], left: region[1], height: region[2], width: region[3],
                                                    size: size, flip: flip)
            let expected = try file.dataset("train/\(name)/expected").read(as: Float.self)
            XCTAssertLessThan(maxDifference(expected, run(transform, geometry)), 2e-5, "case \(name)")
        }
    }

    func testRandomCropFallbackMatchesTorchvision() throws {
        let rows = try file.dataset("crop_fallback").read(as: Int64.self).map { Int($0) }
        XCTAssertEqual(rows.count, 4 * 6)
        for r in stride(from: 0, to: rows.count, by: 6) {
            var generator = SeededRandom(seed: UInt64(r))
            let crop = CropGeometry.randomCropRegion(height: rows[r], width: rows[r + 1], scale: 0.08...1,
                                                     ratio: (3.0 / 4)...(4.0 / 3), using: &generator)
            XCTAssertEqual([crop.top, crop.left, crop.height, crop.width], Array(rows[(r + 2)..<(r + 6)]),
                           "\(rows[r])x\(rows[r + 1])")
        }
    }

    func testRandomCropsStayInsideAndWithinRanges() {
        var generator = SeededRandom(seed: 42)
        var sawPartial = false
        for trial in 0..<2000 {
            let h = 20 + trial % 300, w = 30 + (trial * 7) % 250
            let c = CropGeometry.randomCropRegion(height: h, width: w, scale: 0.08...1, ratio: (3.0 / 4)...(4.0 / 3), using: &generator)
            XCTAssertTrue(c.top >= 0 && c.left >= 0 && c.top + c.height <= h && c.left + c.width <= w && c.height > 0 && c.width > 0)
            let fraction = Double(c.height * c.width) / Double(h * w)
            let aspect = Double(c.width) / Double(c.height)
            // Rounding the sides to integers moves area and aspect by at most a pixel's worth.
            let slack = 1.0 / Double(min(c.height, c.width)) * 2.2
            XCTAssertTrue(fraction <= 1 && fraction >= 0.08 * (1 - slack), "fraction \(fraction) for \(c) of \(h)x\(w)")
            XCTAssertTrue(aspect >= 0.75 * (1 - slack) && aspect <= 4.0 / 3 * (1 + slack), "aspect \(aspect)")
            if fraction < 0.5 { sawPartial = true }
        }
        XCTAssertTrue(sawPartial)
    }

    func testResizeSizeRule() {
        XCTAssertEqual(ImageTransform.defaultResizeSize(for: 224), 256)
        // torchvision Resize(256) on 300 x 450: shorter side 256, longer int(256 * 450 / 300) = 384.
        let g = CropGeometry.resizeCenterCrop(height: 300, width: 450, resizeSize: 256, cropSize: 224)
        XCTAssertEqual([g.scaledHeight, g.scaledWidth, g.windowTop, g.windowLeft], [256, 384, 16, 80])
    }

    /// `--augment flip` at the image's own size: the image itself (normalised), mirrored left-right
    /// and top-bottom by independent coin flips, as torchvision's RandomHorizontalFlip and
    /// RandomVerticalFlip; probability 0 (`--augment none`) never flips.
    func testFlipsMirrorTheWholeImage() {
        let identity = ImageTransform.evaluation(size: width, resizeSize: width, mean: [0, 0, 0],
                                                 std: [1.0 / 255, 1.0 / 255, 1.0 / 255])
        // The top width × width square of the source, unscaled, as the reference picture.
        let square = CropGeometry(top: 0, left: 0, height: width, width: width, scaledHeight: width, scaledWidth: width,
                                  windowTop: 0, windowLeft: 0, outputHeight: width, outputWidth: width, flip: false)
        let plain = run(identity, square)
        let flips = ImageTransform.flipping(size: width, probability: 0.5, mean: [0, 0, 0], std: [1.0 / 255, 1.0 / 255, 1.0 / 255])
        var seen = Set<[Bool]>()
        for sample in 0..<64 {
            var generator = SeededRandom(seed: 7, 0, UInt64(sample))
            let g = flips.geometry(height: width, width: width, using: &generator)
            seen.insert([g.flip, g.verticalFlip])
            let out = run(flips, g)
            for c in 0..<3 {
                for y in 0..<width {
                    for x in 0..<width {
                        let sy = g.verticalFlip ? width - 1 - y : y, sx = g.flip ? width - 1 - x : x
                        XCTAssertEqual(out[(c * width + y) * width + x], plain[(c * width + sy) * width + sx], accuracy: 1e-3)
                    }
                }
            }
        }
        XCTAssertEqual(seen.count, 4, "all four flip combinations occur")
        let none = ImageTransform.flipping(size: width, probability: 0, mean: [0, 0, 0], std: [1, 1, 1])
        var generator = SeededRandom(seed: 1)
        let g = none.geometry(height: height, width: width, using: &generator)
        XCTAssertFalse(g.flip || g.verticalFlip)
        XCTAssertEqual([g.outputHeight, g.outputWidth, g.height, g.width], [width, width, height, width], "the whole image, resized")
    }
}
