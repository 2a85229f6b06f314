import Foundation
import Randomness

extension SeededRandom {
    /// A standard normal sample (Box–Muller).
    public mutating func normal() -> Float {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let u2 = Double.random(in: 0..<1, using: &self)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

/// Initialisations matching timm's ViT defaults where they matter.
public enum ViTInitialization {
    /// timm's `init_weights_vit_timm` for a Linear: weight ~ N(0, 0.02²) (its truncation at ±2 is
    /// absolute, so it never triggers), bias 0.
    public static func linear(weight: UnsafeMutablePointer<Float>, count: Int, bias: UnsafeMutablePointer<Float>?,
                              biasCount: Int, using generator: inout SeededRandom) {
        for i in 0..<count { weight[i] = 0.02 * generator.normal() }
        bias?.update(repeating: 0, count: biasCount)
    }

    /// A fresh model's parameters as timm's `VisionTransformer.init_weights` (mode ''): Linear
    /// weights and the position embedding ~ N(0, 0.02²), Linear biases 0, the class token
    /// ~ N(0, 1e-6²), the patch convolution PyTorch's default (weight and bias uniform in
    /// ±1/√(Cin·P·P), kaiming-uniform with a = √5), LayerNorm weight 1 and bias 0; LoRA A uniform in
    /// ±1/√C (loralib's kaiming-uniform) and LoRA B 0.
    ///
    /// - Parameter views: the view indices to initialise (nil: all).
    public static func randomize(_ model: VisionTransformer, seed: UInt64, views: Set<Int>? = nil) {
        var generator = SeededRandom(seed: seed)
        let c = model.config.width
        for (index, view) in model.layout.views.enumerated() where views?.contains(index) ?? true {
            let p = model.parameter(index)
            let name = view.name
            if name.hasPrefix("patch_embed.") {
                let bound = 1 / Float(model.config.patchValues).squareRoot()
                for i in 0..<view.count { p[i] = Float.random(in: -bound..<bound, using: &generator) }
            } else if name == "cls_token" {
                for i in 0..<view.count { p[i] = 1e-6 * generator.normal() }
            } else if name.hasSuffix("lora_A") {
                let bound = 1 / Float(c).squareRoot()
                for i in 0..<view.count { p[i] = Float.random(in: -bound..<bound, using: &generator) }
            } else if name.hasSuffix("lora_B") || name.hasSuffix(".bias") {
                p.update(repeating: 0, count: view.count)
            } else if name.contains("norm") {
                p.update(repeating: 1, count: view.count)
            } else {
                for i in 0..<view.count { p[i] = 0.02 * generator.normal() }
            }
        }
    }
}
