import Arguments
import ViT

/// A failure of the ViT commands' own input checks (shapes of the input batch, labels).
struct ViTCommandError: Error, CustomStringConvertible {
    let description: String
}

/// The options that choose what trains, shared by `fairtune forward` and `fairtune bench train`.
enum TuningOptions {
    static let specs: [OptionSpec] = [
        .value("tuning", "METHOD", "what trains (the head always does): " + PEFTMethod.allCases.map(\.rawValue).joined(separator: ", ")
            + ". block-X: one mask bit per block selects X in it; block-parts3: three bits per block (norms, attention, MLP);"
            + " block-parts4: four (norm1, attention, norm2, MLP); attention-tensors: four (qkv weight, qkv bias,"
            + " proj weight, proj bias) plus pos_embed. The reference's --tuning_method names (fullft, linear,"
            + " auto_peft1, auto_peft2, tune_full_block, ...) are accepted too"),
        .value("mask", "BITS", "0/1 mask of a per-block method (bits per block × depth); default all ones"),
        .value("lora-rank", "R", "LoRA rank on qkv (Q and V) for --tuning lora", default: "8"),
        .value("lora-alpha", "A", "LoRA alpha; the update is scaled by alpha / rank", default: "8"),
    ]

    /// The method named by --tuning (nil when absent).
    static func method(_ args: ParsedArguments) throws -> PEFTMethod? {
        try args.string("tuning").map { name throws(ViTError) in try PEFTMethod(name: name) }
    }

    /// LoRA rank and alpha to build the model with: the options when --tuning is lora, else none.
    static func lora(_ args: ParsedArguments, method: PEFTMethod?) throws -> (rank: Int, alpha: Float?) {
        guard method == .lora else { return (0, nil) }
        let rank = try args.int("lora-rank", in: 1...4096)!
        let alpha = try args.double("lora-alpha", in: 1e-6...1e6)!
        return (rank, Float(alpha))
    }

    /// The trainable set of --tuning/--mask for `layout` (full fine-tuning when absent).
    static func trainableSet(_ args: ParsedArguments, method: PEFTMethod?, layout: ParameterLayout) throws -> TrainableSet {
        let method = method ?? .full
        let mask = try args.string("mask").map { text throws(ViTError) in
            try PEFTMask(text, method: method, depth: layout.config.depth).bits
        }
        return try TrainableSet(layout: layout, method: method, mask: mask)
    }
}
