import Foundation
import Tensor
import XCTest

/// The vectorizable exp and erf against Double libm over their working ranges.
final class FastMathTests: XCTestCase {
    func testExpRelativeErrorAndUnderflow() {
        var worst = 0.0
        for i in 0...20_000 {
            let x = -87 + Double(i) * (175.0 / 20_000)
            let ours = Double(FastMath.exp(Float(x)))
            worst = max(worst, abs(ours - Foundation.exp(Double(Float(x)))) / Foundation.exp(Double(Float(x))))
        }
        XCTAssertLessThan(worst, 5e-7)
        XCTAssertEqual(FastMath.exp(-100), 0)
        XCTAssertEqual(FastMath.exp(0), 1, accuracy: 1e-7)
    }

    func testExp2ForBF16RelativeErrorAndUnderflow() {
        var worst = 0.0
        for i in 0...20_000 {
            let x = -125 + Double(i) * (251.0 / 20_000)
            let exact = Foundation.exp2(Double(Float(x)))
            worst = max(worst, abs(Double(FastMath.exp2ForBF16(Float(x))) - exact) / exact)
        }
        XCTAssertLessThan(worst, 1e-4)  // bf16 rounds at 2e-3 relative
        XCTAssertEqual(FastMath.exp2ForBF16(-130), 0)
        XCTAssertEqual(FastMath.exp2ForBF16(0), 1)
    }

    func testErfAbsoluteError() {
        var worst = 0.0
        for i in 0...20_000 {
            let x = -6 + Double(i) * (12.0 / 20_000)
            worst = max(worst, abs(Double(FastMath.erf(Float(x))) - Foundation.erf(Double(Float(x)))))
        }
        XCTAssertLessThan(worst, 5e-7)  // 1.5e-7 of the formula plus f32 rounding
    }

    func testRowSumAndDotMatchSerialSums() {
        let a = (0..<37).map { Float($0) * 0.25 - 3 }, b = (0..<37).map { Float($0 % 5) - 2 }
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                XCTAssertEqual(RowSum.sum(pa.baseAddress!, 37), a.reduce(0, +), accuracy: 1e-4)
                XCTAssertEqual(RowSum.dot(pa.baseAddress!, pb.baseAddress!, 37), zip(a, b).map(*).reduce(0, +), accuracy: 1e-4)
                // bf16 b widened as read: the same sum as `dot` on the f32 values, bit for bit.
                let bits = b.map { BFloat16.bits($0 * 1.01) }, widened = bits.map(BFloat16.float)
                bits.withUnsafeBufferPointer { pbits in
                    widened.withUnsafeBufferPointer { pw in
                        XCTAssertEqual(RowSum.dot(pa.baseAddress!, bf16: pbits.baseAddress!, 37).bitPattern,
                                       RowSum.dot(pa.baseAddress!, pw.baseAddress!, 37).bitPattern)
                    }
                }
            }
        }
    }
}
