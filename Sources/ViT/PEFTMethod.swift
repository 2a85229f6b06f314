/// Which parameters a fine-tuning run trains: the search spaces of the FairTune reference
/// (`search_mask.py:create_opt_mask`, `utils.py:get_masked_model`) plus full fine-tuning,
/// the linear probe and LoRA. The head is trainable under every method.
public enum PEFTMethod: String, CaseIterable, Sendable {
    /// Everything (reference: `fullft`).
    case full
    /// The classifier head only (reference: `linear`, `linear_readout`).
    case head
    /// Every bias, plus the head (reference: `bitfit`).
    case bitfit
    /// Every attention tensor, the position embedding and the head (reference: `tune_attention`).
    case attention
    /// Every LayerNorm (norm1, norm2, final norm) and the head (reference: `tune_layernorm`).
    case layernorm
    /// Bit i: block i's attention (qkv, proj) (reference: `tune_attention_blocks_random`).
    case blockAttention = "block-attention"
    /// Bit i: block i's norm1 and norm2 (reference: `tune_layernorm_blocks_random`).
    case blockLayernorm = "block-layernorm"
    /// Bit i: block i's MLP (reference: `tune_mlp_blocks_random`).
    case blockMLP = "block-mlp"
    /// Bit i: the whole block i (reference: `tune_full_block`).
    case blockFull = "block-full"
    /// Bit i: block i's attention and both norms (reference: `tune_attention_layernorm`).
    case blockAttentionLayernorm = "block-attention-layernorm"
    /// Bit i: block i's attention and MLP (reference: `tune_attention_mlp`).
    case blockAttentionMLP = "block-attention-mlp"
    /// Bit i: block i's norms and MLP (reference: `tune_layernorm_mlp`).
    case blockLayernormMLP = "block-layernorm-mlp"
    /// Bit i: block i's attention, norms and MLP (reference: `tune_attention_layernorm_mlp`).
    case blockAttentionLayernormMLP = "block-attention-layernorm-mlp"
    /// Three bits per block: 3i norms, 3i+1 attention, 3i+2 MLP (reference: `auto_peft1`).
    case parts3 = "block-parts3"
    /// Four bits per block: 4i norm1, 4i+1 attention, 4i+2 norm2, 4i+3 MLP (reference: `auto_peft2`).
    case parts4 = "block-parts4"
    /// Four bits per block over qkv.weight, qkv.bias, proj.weight, proj.bias, plus the position
    /// embedding (reference: `tune_attention_params_random`).
    case attentionTensors = "attention-tensors"
    /// LoRA factors on the query and value parts of qkv; bit i: block i's factors.
    case lora

    /// The reference's `--tuning_method` names, accepted as aliases.
    public static let referenceNames: [String: PEFTMethod] = [
        "fullft": .full, "linear": .head, "linear_readout": .head, "bitfit": .bitfit,
        "tune_attention": .attention, "tune_layernorm": .layernorm,
        "tune_attention_blocks_random": .blockAttention, "tune_layernorm_blocks_random": .blockLayernorm,
        "tune_mlp_blocks_random": .blockMLP, "tune_full_block": .blockFull,
        "tune_attention_layernorm": .blockAttentionLayernorm, "tune_attention_mlp": .blockAttentionMLP,
        "tune_layernorm_mlp": .blockLayernormMLP, "tune_attention_layernorm_mlp": .blockAttentionLayernormMLP,
        "auto_peft1": .parts3, "auto_peft2": .parts4, "tune_attention_params_random": .attentionTensors,
        "lora": .lora,
    ]

    /// Parses our name or a reference alias.
    public init(name: String) throws(ViTError) {
        if let m = PEFTMethod(rawValue: name) ?? PEFTMethod.referenceNames[name] {
            self = m
        } else {
            throw .invalidTuning("unknown tuning method '\(name)'; expected one of "
                + PEFTMethod.allCases.map(\.rawValue).joined(separator: ", ")
                + " (or a reference name: " + PEFTMethod.referenceNames.keys.sorted().joined(separator: ", ") + ")")
        }
    }

    /// Mask bits per block; 0 for the methods without a mask.
    public var bitsPerBlock: Int {
        switch self {
        case .full, .head, .bitfit, .attention, .layernorm: return 0
        case .parts3: return 3
        case .parts4, .attentionTensors: return 4
        default: return 1
        }
    }

    /// The mask length for a model of `depth` blocks (0: takes no mask).
    public func maskLength(depth: Int) -> Int { bitsPerBlock * depth }

    /// What each of a block's mask bits selects, in bit order (empty for the methods without a mask).
    public var partNames: [String] {
        switch self {
        case .full, .head, .bitfit, .attention, .layernorm: return []
        case .parts3: return ["norms", "attention", "MLP"]
        case .parts4: return ["norm1", "attention", "norm2", "MLP"]
        case .attentionTensors: return ["qkv.weight", "qkv.bias", "proj.weight", "proj.bias"]
        case .blockAttention: return ["attention"]
        case .blockLayernorm: return ["norms"]
        case .blockMLP: return ["MLP"]
        case .blockFull: return ["block"]
        case .blockAttentionLayernorm: return ["attention+norms"]
        case .blockAttentionMLP: return ["attention+MLP"]
        case .blockLayernormMLP: return ["norms+MLP"]
        case .blockAttentionLayernormMLP: return ["attention+norms+MLP"]
        case .lora: return ["LoRA"]
        }
    }
}

/// The parts of a block one mask bit can select.
struct BlockParts: OptionSet {
    let rawValue: Int
    static let norm1 = BlockParts(rawValue: 1)
    static let norm2 = BlockParts(rawValue: 2)
    static let attention = BlockParts(rawValue: 4)
    static let mlp = BlockParts(rawValue: 8)
    static let lora = BlockParts(rawValue: 16)
    static let norms: BlockParts = [.norm1, .norm2]
    static let all: BlockParts = [.norm1, .norm2, .attention, .mlp]
}

/// A PEFT method's mask: one bit per (block, part) of the method, written as 0/1 characters
/// (`000011110000`), block 0's bits first. The search creates, prints and compares masks.
public struct PEFTMask: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let method: PEFTMethod
    /// Block-major: bit `b * method.bitsPerBlock + p` is part `p` of block `b`.
    public let bits: [Bool]

    /// Parses `text` for `method` on a model of `depth` blocks.
    /// - Throws: `ViTError.invalidTuning` for a method without a mask, a character other than 0/1,
    ///   or the wrong length.
    public init(_ text: String, method: PEFTMethod, depth: Int) throws(ViTError) {
        var bits: [Bool] = []
        for (i, ch) in text.enumerated() {
            switch ch {
            case "0": bits.append(false)
            case "1": bits.append(true)
            default: throw .invalidTuning("mask character \(i) is '\(ch)'; a mask holds only 0 and 1")
            }
        }
        try self.init(bits: bits, method: method, depth: depth)
    }

    /// A mask of `bits`, checked against the method's length for `depth` blocks.
    public init(bits: [Bool], method: PEFTMethod, depth: Int) throws(ViTError) {
        let expected = method.maskLength(depth: depth)
        guard expected > 0 else {
            throw .invalidTuning("method '\(method.rawValue)' takes no mask, got '\(PEFTMask.text(bits))'")
        }
        guard bits.count == expected else {
            throw .invalidTuning("method '\(method.rawValue)' needs a mask of \(expected) bits "
                + "(\(method.bitsPerBlock) per block × \(depth) blocks), got \(bits.count)")
        }
        self.method = method
        self.bits = bits
    }

    /// The 0/1 text.
    public var description: String { PEFTMask.text(bits) }

    private static func text(_ bits: [Bool]) -> String { String(bits.map { $0 ? "1" : "0" }) }
}

/// Which parameter views train, as flags per view and as merged element ranges of the flat buffer.
public struct TrainableSet: Sendable {
    /// One flag per `ParameterLayout.views` entry.
    public let isTrainable: [Bool]
    /// Maximal contiguous element ranges of trainable views, ascending.
    public let ranges: [Range<Int>]
    /// Trainable and total element counts.
    public let trainableCount: Int
    public let totalCount: Int

    /// Trains exactly the views flagged.
    public init(layout: ParameterLayout, flags: [Bool]) {
        precondition(flags.count == layout.views.count, "one flag per view")
        isTrainable = flags
        var ranges: [Range<Int>] = []
        for (v, on) in zip(layout.views, flags) where on && v.count > 0 {
            if let last = ranges.last, last.upperBound == v.offset {
                ranges[ranges.count - 1] = last.lowerBound..<v.range.upperBound
            } else {
                ranges.append(v.range)
            }
        }
        self.ranges = ranges
        trainableCount = ranges.reduce(0) { $0 + $1.count }
        totalCount = layout.count
    }

    /// The trainable set of `method` with `mask` (nil: all bits set, the reference's "vanilla").
    /// - Throws: `ViTError.invalidTuning` for a mask of the wrong length, or LoRA without a rank.
    public init(layout: ParameterLayout, method: PEFTMethod, mask: [Bool]? = nil) throws(ViTError) {
        let depth = layout.config.depth
        let length = method.maskLength(depth: depth)
        if let mask, mask.count != length {
            throw .invalidTuning("method '\(method.rawValue)' needs a mask of \(length) bits, got \(mask.count)")
        }
        if method == .lora && layout.loraRank == 0 {
            throw .invalidTuning("method 'lora' needs a LoRA rank > 0")
        }
        let bits = mask ?? [Bool](repeating: true, count: length)
        var flags = [Bool](repeating: false, count: layout.views.count)
        let names = layout.views.map(\.name)
        func mark(block i: Int, _ parts: BlockParts) {
            let b = layout.blocks[i]
            if parts.contains(.norm1) { flags[b.norm1Weight] = true; flags[b.norm1Bias] = true }
            if parts.contains(.norm2) { flags[b.norm2Weight] = true; flags[b.norm2Bias] = true }
            if parts.contains(.attention) {
                for v in [b.qkvWeight, b.qkvBias, b.projWeight, b.projBias] { flags[v] = true }
            }
            if parts.contains(.mlp) { for v in [b.fc1Weight, b.fc1Bias, b.fc2Weight, b.fc2Bias] { flags[v] = true } }
            if parts.contains(.lora) { for v in [b.loraA, b.loraB].compactMap({ $0 }) { flags[v] = true } }
        }
        func perBlock(_ parts: BlockParts) { for i in 0..<depth where bits[i] { mark(block: i, parts) } }
        switch method {
        case .full: flags = [Bool](repeating: true, count: flags.count)
        case .head: break
        case .bitfit: for (i, n) in names.enumerated() where n.hasSuffix(".bias") || n == "bias" { flags[i] = true }
        case .attention:
            for i in 0..<depth { mark(block: i, .attention) }
            flags[layout.positionEmbedding] = true
        case .layernorm: for (i, n) in names.enumerated() where n.contains("norm") { flags[i] = true }
        case .blockAttention: perBlock(.attention)
        case .blockLayernorm: perBlock(.norms)
        case .blockMLP: perBlock(.mlp)
        case .blockFull, .blockAttentionLayernormMLP: perBlock(.all)
        case .blockAttentionLayernorm: perBlock([.attention, .norms])
        case .blockAttentionMLP: perBlock([.attention, .mlp])
        case .blockLayernormMLP: perBlock([.norms, .mlp])
        case .lora: perBlock(.lora)
        case .parts3:
            for i in 0..<depth {
                if bits[3 * i] { mark(block: i, .norms) }
                if bits[3 * i + 1] { mark(block: i, .attention) }
                if bits[3 * i + 2] { mark(block: i, .mlp) }
            }
        case .parts4:
            for i in 0..<depth {
                if bits[4 * i] { mark(block: i, .norm1) }
                if bits[4 * i + 1] { mark(block: i, .attention) }
                if bits[4 * i + 2] { mark(block: i, .norm2) }
                if bits[4 * i + 3] { mark(block: i, .mlp) }
            }
        case .attentionTensors:
            for i in 0..<depth {
                let b = layout.blocks[i]
                for (j, v) in [b.qkvWeight, b.qkvBias, b.projWeight, b.projBias].enumerated() where bits[4 * i + j] {
                    flags[v] = true
                }
            }
            flags[layout.positionEmbedding] = true
        }
        flags[layout.headWeight] = true
        flags[layout.headBias] = true
        self.init(layout: layout, flags: flags)
    }

    /// Whether view `index` trains.
    @inlinable
    public func contains(_ index: Int) -> Bool { isTrainable[index] }

    /// Whether view `index` (nil: absent) trains.
    @inlinable
    public func contains(_ index: Int?) -> Bool { index.map { isTrainable[$0] } ?? false }

    /// Trainable share of all parameters in percent, as the reference's `check_tunable_params`.
    public var trainablePercent: Double { 100 * Double(trainableCount) / Double(max(totalCount, 1)) }
}
