/// One named tensor inside the flat parameter buffer.
public struct ParameterView: Equatable, Sendable {
    /// timm's state-dict name, e.g. `blocks.3.attn.qkv.weight`.
    public var name: String
    /// PyTorch shape, e.g. [1152, 384].
    public var shape: [Int]
    /// First element inside the flat buffer.
    public var offset: Int
    /// Element count (product of `shape`).
    public var count: Int
    /// Elements `offset..<offset+count`.
    public var range: Range<Int> { offset..<(offset + count) }
}

/// The view indices of one transformer block, in timm order.
public struct BlockParameterIndices: Sendable {
    /// norm1, attention (qkv, proj), norm2 and MLP (fc1, fc2) weights and biases.
    public var norm1Weight, norm1Bias, qkvWeight, qkvBias, projWeight, projBias: Int
    public var norm2Weight, norm2Bias, fc1Weight, fc1Bias, fc2Weight, fc2Bias: Int
    /// LoRA factors on qkv (query and value parts), present when the layout has a LoRA rank:
    /// `lora_A` (2r, C) stacks A_q over A_v; `lora_B` (2C, r) stacks B_q over B_v (loralib's
    /// `MergedLinear` with `enable_lora=[True, False, True]`).
    public var loraA, loraB: Int?
}

/// Every parameter of a ViT as named views into one contiguous f32 allocation, in timm's
/// `state_dict` order (class token, position embedding, patch embedding, blocks, final norm,
/// head), followed by the LoRA factors if any. Gradients and optimizer state mirror it.
public struct ParameterLayout: Sendable {
    /// The architecture laid out.
    public let config: ViTConfig
    /// LoRA rank r (0: no LoRA) and its alpha; the update is scaled by alpha / r.
    public let loraRank: Int
    public let loraAlpha: Float
    /// All views, timm order first.
    public let views: [ParameterView]
    /// Total element count.
    public let count: Int
    /// View indices of the embeddings: class token, position embedding, patch weight and bias.
    public let classToken, positionEmbedding, patchWeight, patchBias: Int
    /// View indices of each block's tensors.
    public let blocks: [BlockParameterIndices]
    /// View indices of the final norm and the head.
    public let normWeight, normBias, headWeight, headBias: Int
    /// Elements `0..<timmCount` are the timm tensors; LoRA factors follow.
    public let timmCount: Int
    private let indexByName: [String: Int]

    /// Lays out a model of `config`, with LoRA factors of `loraRank` on every block's qkv when > 0.
    public init(config: ViTConfig, loraRank: Int = 0, loraAlpha: Float = 8) {
        self.config = config
        self.loraRank = loraRank
        self.loraAlpha = loraAlpha
        var views: [ParameterView] = []
        var offset = 0
        func add(_ name: String, _ shape: [Int]) -> Int {
            let count = shape.reduce(1, *)
            views.append(ParameterView(name: name, shape: shape, offset: offset, count: count))
            offset += count
            return views.count - 1
        }
        let c = config.width, m = config.mlpWidth, p = config.patchSize
        classToken = add("cls_token", [1, 1, c])
        positionEmbedding = add("pos_embed", [1, config.tokens, c])
        patchWeight = add("patch_embed.proj.weight", [c, config.channels, p, p])
        patchBias = add("patch_embed.proj.bias", [c])
        var blocks: [BlockParameterIndices] = []
        for i in 0..<config.depth {
            let b = "blocks.\(i)."
            blocks.append(BlockParameterIndices(
                norm1Weight: add(b + "norm1.weight", [c]), norm1Bias: add(b + "norm1.bias", [c]),
                qkvWeight: add(b + "attn.qkv.weight", [3 * c, c]), qkvBias: add(b + "attn.qkv.bias", [3 * c]),
                projWeight: add(b + "attn.proj.weight", [c, c]), projBias: add(b + "attn.proj.bias", [c]),
                norm2Weight: add(b + "norm2.weight", [c]), norm2Bias: add(b + "norm2.bias", [c]),
                fc1Weight: add(b + "mlp.fc1.weight", [m, c]), fc1Bias: add(b + "mlp.fc1.bias", [m]),
                fc2Weight: add(b + "mlp.fc2.weight", [c, m]), fc2Bias: add(b + "mlp.fc2.bias", [c]),
                loraA: nil, loraB: nil))
        }
        normWeight = add("norm.weight", [c])
        normBias = add("norm.bias", [c])
        headWeight = add("head.weight", [config.classes, c])
        headBias = add("head.bias", [config.classes])
        timmCount = offset
        if loraRank > 0 {
            for i in 0..<config.depth {
                blocks[i].loraA = add("blocks.\(i).attn.qkv.lora_A", [2 * loraRank, c])
                blocks[i].loraB = add("blocks.\(i).attn.qkv.lora_B", [2 * c, loraRank])
            }
        }
        self.blocks = blocks
        self.views = views
        self.count = offset
        var index: [String: Int] = [:]
        for (i, v) in views.enumerated() { index[v.name] = i }
        indexByName = index
    }

    /// The LoRA update scale alpha / r.
    public var loraScaling: Float { loraRank > 0 ? loraAlpha / Float(loraRank) : 0 }

    /// The view index of a timm (or LoRA) tensor name.
    public func index(of name: String) -> Int? { indexByName[name] }

    /// The views of block `i`, in timm order, with the LoRA factors last.
    public func viewIndices(ofBlock i: Int) -> [Int] {
        let b = blocks[i]
        return [b.norm1Weight, b.norm1Bias, b.qkvWeight, b.qkvBias, b.projWeight, b.projBias,
                b.norm2Weight, b.norm2Bias, b.fc1Weight, b.fc1Bias, b.fc2Weight, b.fc2Bias] + [b.loraA, b.loraB].compactMap { $0 }
    }
}

import Foundation

/// A flat, owned f32 buffer laid out by a `ParameterLayout` (parameters, gradients, optimizer moments).
///
/// Zeroed by `calloc`, whose large blocks are fresh pages: memory that is never written (the
/// gradients of frozen tensors) never becomes resident.
public final class ParameterBuffer {
    /// Base address of `count` floats, zero-initialised.
    public let base: UnsafeMutablePointer<Float>
    /// Number of floats.
    public let count: Int

    /// Allocates `count` zeroed floats.
    public init(count: Int) {
        self.count = count
        guard let raw = calloc(max(count, 1), MemoryLayout<Float>.stride) else {
            fatalError("out of memory allocating \(count) parameters")
        }
        base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    deinit { free(base) }

    /// The start of `view`.
    @inlinable
    public subscript(_ view: ParameterView) -> UnsafeMutablePointer<Float> { base + view.offset }

    /// The whole buffer as a buffer pointer (for optimizers and allreduce).
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: base, count: count) }

    /// Sets every element of `range` to zero.
    public func zero(_ range: Range<Int>) { (base + range.lowerBound).update(repeating: 0, count: range.count) }
}
