import Randomness
import SafeTensors
import Tensor

/// Loading and saving timm ViT weights in safetensors format with timm's tensor names.
public enum PretrainedWeights {
    /// What the loader may change relative to the file.
    public struct Options: Sendable {
        /// Attention heads; nil: the file's `num_heads` metadata, else width / 64 as in timm's models.
        public var heads: Int?
        /// Target image size; nil: the file's (from the position-embedding grid). A different size
        /// resamples the position embedding (bicubic, antialiased as timm's checkpoint loading).
        public var imageSize: Int?
        /// Target class count; nil: the file's head. A different count gets a fresh head.
        public var classes: Int?
        /// LoRA rank (0: none unless the file holds LoRA factors) and alpha (nil: the file's
        /// `lora_alpha` metadata, else the rank).
        public var loraRank = 0
        public var loraAlpha: Float?
        /// Seed of any freshly initialised tensor (new head, new LoRA factors).
        public var seed: UInt64 = 0
        /// Whether position-embedding resampling uses PyTorch's antialiased bicubic (timm's default).
        public var antialias = true

        public init(heads: Int? = nil, imageSize: Int? = nil, classes: Int? = nil, loraRank: Int = 0,
                    loraAlpha: Float? = nil, seed: UInt64 = 0, antialias: Bool = true) {
            self.heads = heads
            self.imageSize = imageSize
            self.classes = classes
            self.loraRank = loraRank
            self.loraAlpha = loraAlpha
            self.seed = seed
            self.antialias = antialias
        }
    }

    /// What `load` did besides copying tensors, for the log.
    public struct Report: Sendable {
        /// The per-channel mean and std the weights expect (images scaled to [0, 1]), when the file
        /// records them (`mean`, `std` metadata as "R,G,B", written by `fairtune_prep weights`).
        public var normalization: (mean: [Double], std: [Double])?
        public var replacedHead = false
        public var resampledPositionEmbedding: (from: Int, to: Int)?
        public var initializedLoRA = false
    }

    /// The `mean` and `std` metadata: both or neither, three finite numbers each, stds positive.
    static func recordedNormalization(_ file: SafeTensorsFile) throws(ViTError) -> (mean: [Double], std: [Double])? {
        let meanText = file.metadata["mean"], stdText = file.metadata["std"]
        guard meanText != nil || stdText != nil else { return nil }
        func channels(_ key: String, _ text: String?, positive: Bool) throws(ViTError) -> [Double] {
            let values = (text ?? "").split(separator: ",", omittingEmptySubsequences: false).compactMap { Double($0) }
            guard values.count == 3, values.allSatisfy({ $0.isFinite && (!positive || $0 > 0) }) else {
                throw .checkpoint(path: file.path, message: "metadata '\(key)' is '\(text ?? "absent")'; expected three "
                    + "comma-separated \(positive ? "positive " : "")numbers (R,G,B), as fairtune_prep weights writes")
            }
            return values
        }
        return (try channels("mean", meanText, positive: false), try channels("std", stdText, positive: true))
    }

    /// Reads the architecture from the tensor shapes of `file`.
    public static func inferConfig(_ file: SafeTensorsFile, options: Options) throws(ViTError) -> (config: ViTConfig, fileImageSize: Int, loraRank: Int, loraAlpha: Float) {
        func shape(_ name: String) throws(ViTError) -> [Int] {
            guard let info = file.info(name) else {
                throw .checkpoint(path: file.path, message: "missing tensor '\(name)': not a timm VisionTransformer checkpoint")
            }
            return info.shape
        }
        let patch = try shape("patch_embed.proj.weight")
        guard patch.count == 4, patch[2] == patch[3] else {
            throw .checkpoint(path: file.path, message: "tensor 'patch_embed.proj.weight' has shape \(patch); expected (width, channels, P, P)")
        }
        let width = patch[0], channels = patch[1], p = patch[2]
        let pos = try shape("pos_embed")
        let grid = Int(Double(max(pos.count == 3 ? pos[1] - 1 : 0, 0)).squareRoot().rounded())
        guard pos.count == 3, pos[0] == 1, pos[2] == width, grid > 0, grid * grid + 1 == pos[1] else {
            throw .checkpoint(path: file.path, message: "tensor 'pos_embed' has shape \(pos); expected (1, 1 + g², \(width)) with a class token")
        }
        var depth = 0
        while file.info("blocks.\(depth).norm1.weight") != nil { depth += 1 }
        guard depth > 0 else { throw .checkpoint(path: file.path, message: "missing tensor 'blocks.0.norm1.weight'") }
        let fc1 = try shape("blocks.0.mlp.fc1.weight")
        guard fc1.count == 2 else {
            throw .checkpoint(path: file.path, message: "tensor 'blocks.0.mlp.fc1.weight' has shape \(fc1); expected (mlp, \(width))")
        }
        let fileClasses = file.info("head.weight")?.shape.first
        guard let classes = options.classes ?? fileClasses else {
            throw .checkpoint(path: file.path, message: "the file has no 'head.weight'; give the number of classes")
        }
        let heads: Int
        if let h = options.heads {
            heads = h
        } else if let text = file.metadata["num_heads"] {
            guard let h = Int(text), h > 0 else {
                throw .checkpoint(path: file.path, message: "metadata num_heads '\(text)' is not a positive integer")
            }
            heads = h
        } else {
            heads = max(1, width / 64)
        }
        var loraRank = options.loraRank, loraAlpha = options.loraAlpha
        if let a = file.info("blocks.0.attn.qkv.lora_A") {
            let fileRank = (a.shape.first ?? 0) / 2
            if loraRank == 0 { loraRank = fileRank }
            if loraAlpha == nil, let text = file.metadata["lora_alpha"] { loraAlpha = Float(text) }
        }
        let config = ViTConfig(imageSize: options.imageSize ?? grid * p, patchSize: p, width: width, depth: depth,
                               heads: heads, mlpWidth: fc1[0], classes: classes, channels: channels)
        try config.validate()
        return (config, grid * p, loraRank, loraAlpha ?? Float(max(loraRank, 1)))
    }

    /// Loads a timm checkpoint into a new model; every tensor of the file must be used and every
    /// tensor of the model found with its shape, except: a head of another class count (replaced),
    /// a position embedding of another grid (resampled), absent LoRA factors (initialised).
    ///
    /// - Throws: `ViTError.checkpoint` naming the file and the tensor for a missing, extra or
    ///   wrong-shaped tensor (damaged files raise SafeTensors' errors, wrapped likewise).
    public static func load(path: String, options: Options = Options()) throws(ViTError) -> (model: VisionTransformer, report: Report) {
        let file: SafeTensorsFile
        do {
            file = try SafeTensorsFile(path: path)
            // A NaN in the weights would show up only as a diverged loss; name the tensor instead.
            try file.requireFinite()
        } catch { throw .checkpoint(path: path, message: error.description) }
        let (config, fileImageSize, loraRank, loraAlpha) = try inferConfig(file, options: options)
        let layout = ParameterLayout(config: config, loraRank: loraRank, loraAlpha: loraAlpha)
        let model = VisionTransformer(layout: layout)
        var report = Report()
        report.normalization = try recordedNormalization(file)
        var freshLoRA = Set<Int>()
        let fileNames = Set(file.tensors.map(\.name))
        for name in fileNames where layout.index(of: name) == nil {
            throw .checkpoint(path: path, message: "unexpected tensor '\(name)': not part of a timm VisionTransformer \(config)")
        }
        for (index, view) in layout.views.enumerated() {
            guard let info = file.info(view.name) else {
                if view.name.contains("lora_") { freshLoRA.insert(index); continue }
                if view.name.hasPrefix("head.") && options.classes != nil { report.replacedHead = true; continue }
                throw .checkpoint(path: path, message: "missing tensor '\(view.name)' (shape \(view.shape))")
            }
            let destination = UnsafeMutableBufferPointer(start: model.parameter(index), count: view.count)
            if info.shape == view.shape {
                do { try file.readFloats(view.name, into: destination) } catch {
                    throw .checkpoint(path: path, message: error.description)
                }
            } else if view.name.hasPrefix("head."), info.shape.dropFirst() == view.shape.dropFirst(), options.classes != nil {
                report.replacedHead = true
            } else if index == layout.positionEmbedding, info.shape.count == 3, info.shape[2] == view.shape[2] {
                let oldGrid = fileImageSize / config.patchSize
                let source: [Float]
                do { source = try file.floats(view.name) } catch { throw .checkpoint(path: path, message: error.description) }
                let resampled = PositionEmbeddingResampling.resample(source, channels: config.width, oldGrid: oldGrid,
                                                                     newGrid: config.gridSize, antialias: options.antialias)
                _ = destination.update(fromContentsOf: resampled)
                report.resampledPositionEmbedding = (oldGrid, config.gridSize)
            } else {
                throw .checkpoint(path: path, message: "tensor '\(view.name)' has shape \(info.shape); the model expects \(view.shape)")
            }
        }
        if !freshLoRA.isEmpty {
            // One generator over all new factors, so blocks do not share their initial A.
            ViTInitialization.randomize(model, seed: options.seed, views: freshLoRA)
            report.initializedLoRA = true
        }
        if report.replacedHead {
            var generator = SeededRandom(seed: options.seed &+ 1)
            ViTInitialization.linear(weight: model.parameter(layout.headWeight), count: layout.views[layout.headWeight].count,
                                     bias: model.parameter(layout.headBias), biasCount: config.classes, using: &generator)
        }
        return (model, report)
    }

    /// Writes the model as a timm `state_dict` in safetensors (f32, timm order), with metadata
    /// `num_heads`. LoRA factors are merged into qkv (`W_q += s·B_q·A_q`, `W_v += s·B_v·A_v`) so timm's
    /// `load_state_dict` takes the file; with `mergeLoRA: false` they are written as separate tensors
    /// (for resuming). The file is replaced atomically.
    public static func save(_ model: VisionTransformer, to path: String, mergeLoRA: Bool = true,
                            metadata: [String: String] = [:]) throws(ViTError) {
        let layout = model.layout
        var meta = metadata
        meta["num_heads"] = String(model.config.heads)
        meta["format"] = "pt"
        if layout.loraRank > 0 && !mergeLoRA {
            meta["lora_rank"] = String(layout.loraRank)
            meta["lora_alpha"] = String(layout.loraAlpha)
        }
        var writer = SafeTensorsWriter(metadata: meta)
        let merged = mergeLoRA ? mergedQKVWeights(model) : [:]
        for (index, view) in layout.views.enumerated() {
            if view.name.contains("lora_") && mergeLoRA { continue }
            if let weights = merged[index] {
                writer.add(view.name, shape: view.shape, floats: weights)
            } else {
                writer.add(view.name, shape: view.shape,
                           floats: UnsafeBufferPointer(start: model.parameter(index), count: view.count))
            }
        }
        do { try writer.write(to: path) } catch { throw .checkpoint(path: path, message: error.description) }
    }

    /// qkv weights with the LoRA update added, keyed by view index (empty without LoRA).
    public static func mergedQKVWeights(_ model: VisionTransformer) -> [Int: [Float]] {
        let layout = model.layout
        guard layout.loraRank > 0 else { return [:] }
        let c = model.config.width, r = layout.loraRank, scale = layout.loraScaling
        var result: [Int: [Float]] = [:]
        for block in layout.blocks {
            guard let loraA = block.loraA, let loraB = block.loraB else { continue }
            var w = Array(UnsafeBufferPointer(start: model.parameter(block.qkvWeight), count: 3 * c * c))
            let a = model.parameter(loraA), b = model.parameter(loraB)
            w.withUnsafeMutableBufferPointer { w in
                // W_q (rows 0..<C) += s·B_q·A_q; W_v (rows 2C..<3C) += s·B_v·A_v (NN).
                GEMM.multiply(.none, .none, m: c, n: c, k: r, alpha: scale, a: b, lda: r, b: a, ldb: c, beta: 1,
                              c: w.baseAddress!, ldc: c)
                GEMM.multiply(.none, .none, m: c, n: c, k: r, alpha: scale, a: b + c * r, lda: r, b: a + r * c, ldb: c,
                              beta: 1, c: w.baseAddress! + 2 * c * c, ldc: c)
            }
            result[block.qkvWeight] = w
        }
        return result
    }
}
