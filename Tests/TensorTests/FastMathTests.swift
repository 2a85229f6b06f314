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
            }
        }
    }
}
