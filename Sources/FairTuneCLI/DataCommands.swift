import Arguments
import Dataset
import Foundation

/// `fairtune data check DIR`: validates a prepared dataset and prints its counts.
let dataCheckCommand = Command(CommandSpec(
    name: "fairtune data check",
    summary: "Validate a prepared dataset (schema, counts, ranges, ids across splits, image data) and print its counts per split, group and class; exit 1 naming the file and field if invalid.",
    options: [.flag("quick", "do not read the images (metadata and counts only)")],
    positionals: [PositionalSpec("DIR", "the prepared dataset folder (holds manifest.json)")]
)) { args in
    let dataset = try PreparedDataset(directory: args.positionals[0])
    if !args.flag("quick") { try dataset.readEveryImage() }
    print(DatasetSummary.text(dataset))
    print("ok: \(args.positionals[0]) is a valid fairtune-shards v\(DatasetManifest.formatVersion) dataset")
    return ExitStatus.success
}

/// `fairtune bench data DIR`: how fast one core turns stored images into training batches.
let benchDataCommand = Command(CommandSpec(
    name: "fairtune bench data",
    summary: "Time reading, transforming and batching images of a prepared dataset (synchronously, so the rate is per worker).",
    options: [
        .value("split", "NAME", "the split to read", default: "train"),
        .value("mode", "MODE", "train (random resized crop + flip) or eval (resize + centre crop)", default: "train"),
        .value("size", "N", "model image size", default: "224"),
        .value("resize-size", "N", "eval mode: shorter side before the centre crop (default: floor(size / 0.875), 256 for 224)"),
        .value("batch-size", "N", "images per batch", default: "32"),
        .value("batches", "N", "batches to time (after one warm-up batch)", default: "20"),
        .value("workers", "N", "threads transforming one batch", default: "1"),
    ],
    positionals: [PositionalSpec("DIR", "the prepared dataset folder (holds manifest.json)")]
)) { args in
    let splitName = try args.requiredString("split")
    let mode = try args.choice("mode", ["train", "eval"])!
    let size = try args.int("size", in: 1...4096)!
    let batchSize = try args.int("batch-size", in: 1...100_000)!
    let batches = try args.int("batches", in: 1...1_000_000)!
    let workers = try args.int("workers", in: 1...1024)!
    let resizeSize = try args.int("resize-size", in: size...100_000)
    let dataset = try PreparedDataset(directory: args.positionals[0])
    let split = try dataset.split(splitName)
    guard split.count > 0 else {
        printError("error: split '\(splitName)' of \(args.positionals[0]) has no samples")
        return ExitStatus.failure
    }
    let norm = dataset.manifest.normalization
    let transform = mode == "train"
        ? ImageTransform.training(size: size, mean: norm.mean, std: norm.std)
        : ImageTransform.evaluation(size: size, resizeSize: resizeSize, mean: norm.mean, std: norm.std)
    let loader = BatchLoader(split: split, transform: transform, batchSize: batchSize, seed: 1, workers: workers)
    let batch = loader.makeBatch(), scratch = loader.makeScratch()
    print("dataset \(dataset.manifest.dataset), split \(splitName): \(split.count) images of \(split.imageHeight)x\(split.imageWidth)")
    print("mode \(mode), output \(size)x\(size), batch \(batchSize), workers \(workers)")

    // Stored-image reads alone (HDF5 read and decompression), then the whole pipeline.
    let image = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: split.imageHeight * split.imageWidth * 3)
    defer { image.deallocate() }
    let reads = min(split.count, batches * batchSize)
    var start = Date()
    for i in 0..<reads { try split.readImage(i, into: image) }
    let readSeconds = Date().timeIntervalSince(start)

    var epoch = 0, done = 0, checksum: Float = 0
    var plan = loader.trainingPlan(epoch: epoch, rank: 0, rankCount: 1, dropLast: false)
    try loader.load(plan, batch: 0, into: batch, scratch: scratch)  // warm-up
    start = Date()
    var b = 1
    while done < batches {
        if b >= plan.batchCount {
            epoch += 1
            plan = loader.trainingPlan(epoch: epoch, rank: 0, rankCount: 1, dropLast: false)
            b = 0
        }
        try loader.load(plan, batch: b, into: batch, scratch: scratch)
        checksum += batch.images[0]
        done += 1
        b += 1
    }
    let seconds = Date().timeIntervalSince(start)
    let images = Double(batches * batchSize)
    func rate(_ value: Double) -> String { String(format: "%10.0f", value) }
    print("stage                          images/s   images/s per worker")
    print("read stored images only      \(rate(Double(reads) / readSeconds))   \(rate(Double(reads) / readSeconds))")
    print("read + transform + batch     \(rate(images / seconds))   \(rate(images / seconds / Double(workers)))")
    print("(checksum \(checksum.isFinite ? "finite" : "NOT FINITE"))")
    return ExitStatus.success
}

/// The count table printed by `fairtune data check`.
enum DatasetSummary {
    static func text(_ dataset: PreparedDataset) -> String {
        let m = dataset.manifest
        let total = dataset.splits.reduce(0) { $0 + $1.count }
        var lines = ["dataset '\(m.dataset)' (\(m.format) v\(m.formatVersion)), task '\(m.task.name)': \(total) samples, "
                     + "images \(m.image.height)x\(m.image.width)x\(m.image.channels) \(m.image.dtype)"
                     + (m.provenance?.madeBy.map { ", made by \($0)" } ?? "")]
        var rows: [[String]] = [["split", "attribute", "group"] + m.task.classes + ["total"]]
        let classCount = m.task.classes.count
        for split in dataset.splits {
            let classes = split.classCounts(classCount: classCount)
            rows.append([split.name, "(all)", "-"] + classes.map(String.init) + [String(split.count)])
            for (a, attribute) in m.attributes.enumerated() {
                let counts = split.groupCounts(attribute: a, classCount: classCount, groupCount: attribute.groups.count)
                for (g, group) in attribute.groups.enumerated() {
                    let column = (0..<classCount).map { counts.byClass[$0][g] }
                    rows.append([split.name, attribute.name, group] + column.map(String.init) + [String(column.reduce(0, +))])
                }
                rows.append([split.name, attribute.name, "unknown"] + counts.unknown.map(String.init) + [String(counts.unknown.reduce(0, +))])
            }
        }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max()! }
        for row in rows {
            let cells = row.enumerated().map { c, cell in
                c < 3 ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                      : String(repeating: " ", count: widths[c] - cell.count) + cell
            }
            lines.append(cells.joined(separator: "  "))
        }
        return lines.joined(separator: "\n")
    }
}
