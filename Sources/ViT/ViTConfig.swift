/// The shape of a timm `VisionTransformer` (class token, learned absolute position embedding,
/// pre-norm blocks, final norm, linear head on the class token).
public struct ViTConfig: Equatable, Sendable, CustomStringConvertible {
    /// Square input images of `imageSize`×`imageSize` pixels with `channels` colour planes.
    public var imageSize: Int
    /// Colour planes of the input (3 for RGB).
    public var channels: Int
    /// Patch side P; the grid is (imageSize / P)².
    public var patchSize: Int
    /// Token width C (timm's `embed_dim`).
    public var width: Int
    /// Number of transformer blocks.
    public var depth: Int
    /// Attention heads; `width` must be a multiple.
    public var heads: Int
    /// MLP hidden width (4·C in the standard models).
    public var mlpWidth: Int
    /// Classifier outputs K.
    public var classes: Int
    /// LayerNorm epsilon (1e-6 in timm's ViTs).
    public var layerNormEpsilon: Float = 1e-6

    /// A configuration; `mlpWidth` defaults to 4·width.
    public init(imageSize: Int, patchSize: Int, width: Int, depth: Int, heads: Int, mlpWidth: Int? = nil,
                classes: Int, channels: Int = 3) {
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.width = width
        self.depth = depth
        self.heads = heads
        self.mlpWidth = mlpWidth ?? 4 * width
        self.classes = classes
        self.channels = channels
    }

    /// Patches per side.
    public var gridSize: Int { imageSize / patchSize }
    /// Tokens T = patches + 1 class token.
    public var tokens: Int { gridSize * gridSize + 1 }
    /// Per-head width D = C / H.
    public var headDim: Int { width / heads }
    /// Values in one patch: channels · P².
    public var patchValues: Int { channels * patchSize * patchSize }

    /// Checks the shape is buildable; the message names the field.
    public func validate() throws(ViTError) {
        guard imageSize > 0, patchSize > 0, width > 0, depth > 0, heads > 0, mlpWidth > 0, classes > 0, channels > 0 else {
            throw .invalidConfig("every size must be positive: \(self)")
        }
        guard imageSize % patchSize == 0 else {
            throw .invalidConfig("image size \(imageSize) is not a multiple of the patch size \(patchSize)")
        }
        guard width % heads == 0 else {
            throw .invalidConfig("width \(width) is not a multiple of the head count \(heads); pass --num-heads")
        }
    }

    /// e.g. `img 224 patch 16 width 384 depth 12 heads 6 mlp 1536 classes 2`.
    public var description: String {
        "img \(imageSize) patch \(patchSize) width \(width) depth \(depth) heads \(heads) mlp \(mlpWidth) classes \(classes)"
    }

    /// Forward FLOPs per image counting only matrix products (2 per multiply-add): patch
    /// embedding, qkv, attention scores and values, projection, MLP and head.
    public var forwardFLOPsPerImage: Double {
        let t = Double(tokens), c = Double(width), m = Double(mlpWidth), g = Double(gridSize * gridSize)
        let block = 2 * t * c * 3 * c + 2 * 2 * t * t * c + 2 * t * c * c + 2 * 2 * t * c * m
        return 2 * g * Double(patchValues) * c + Double(depth) * block + 2 * c * Double(classes)
    }

    /// The architecture of a timm model name of the plain ViT family,
    /// `vit_{tiny,small,base,large}_patch{16,32}_{224,384}`, with `classes` outputs.
    public static func timm(_ name: String, classes: Int = 1000) throws(ViTError) -> ViTConfig {
        let parts = name.split(separator: "_")
        guard parts.count == 4, parts[0] == "vit", parts[2].hasPrefix("patch"),
              let patch = Int(parts[2].dropFirst(5)), let image = Int(parts[3]) else {
            throw .invalidConfig("unknown model '\(name)': expected vit_{tiny,small,base,large}_patch{16,32}_{224,384}")
        }
        let sizes: [Substring: (width: Int, depth: Int, heads: Int)] = [
            "tiny": (192, 12, 3), "small": (384, 12, 6), "base": (768, 12, 12), "large": (1024, 24, 16),
        ]
        guard let s = sizes[parts[1]] else {
            throw .invalidConfig("unknown model size '\(parts[1])' in '\(name)': expected tiny, small, base or large")
        }
        let config = ViTConfig(imageSize: image, patchSize: patch, width: s.width, depth: s.depth, heads: s.heads,
                               classes: classes)
        try config.validate()
        return config
    }
}

/// Errors of the ViT module, each naming what to fix.
public enum ViTError: Error, CustomStringConvertible, Equatable {
    /// The architecture is not buildable.
    case invalidConfig(String)
    /// A checkpoint does not match the model (tensor name, shape or dtype).
    case checkpoint(path: String, message: String)
    /// A PEFT method name or mask is wrong.
    case invalidTuning(String)
    /// An input tensor has the wrong shape or values.
    case invalidInput(String)

    /// What went wrong and what to change.
    public var description: String {
        switch self {
        case let .invalidConfig(m): return "invalid ViT configuration: \(m)"
        case let .checkpoint(path, m): return "\(path): \(m)"
        case let .invalidTuning(m): return "invalid tuning: \(m)"
        case let .invalidInput(m): return "invalid input: \(m)"
        }
    }
}
