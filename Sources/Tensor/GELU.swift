import Foundation

/// The exact GELU of `torch.nn.GELU()` (approximate='none'): `x · Φ(x)`, Φ the normal CDF via erf.
///
/// Shapes: `input`, `output` (count) element-wise.
public enum GELU {
    /// `output[i] = 0.5 · x · (1 + erf(x / √2))`; `output` may equal `input`.
    public static func forward(output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
        ParallelRows.forEach(count: count, minimumChunk: 16_384) { _, range in
            for i in range {
                let x = input[i]
                output[i] = 0.5 * x * (1 + erff(x * Float(0.5).squareRoot()))
            }
        }
    }

    /// `inputGradient[i] (+)= outputGradient[i] · (Φ(x) + x·φ(x))`; overwrites unless `accumulate`.
    /// `inputGradient` may equal `outputGradient` when overwriting.
    public static func backward(inputGradient: UnsafeMutablePointer<Float>, accumulate: Bool = false,
                                outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>, count: Int) {
        let invSqrt2 = Float(0.5).squareRoot()
        let invSqrt2Pi = 1 / Float(2 * Double.pi).squareRoot()
        ParallelRows.forEach(count: count, minimumChunk: 16_384) { _, range in
            for i in range {
                let x = input[i]
                let cdf = 0.5 * (1 + erff(x * invSqrt2))
                let pdf = expf(-0.5 * x * x) * invSqrt2Pi
                let g = outputGradient[i] * (cdf + x * pdf)
                inputGradient[i] = accumulate ? inputGradient[i] + g : g
            }
        }
    }
}
