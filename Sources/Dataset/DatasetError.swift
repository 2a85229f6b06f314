import HDF5IO

/// A prepared dataset that cannot be used: each case names the file, the field (manifest key path
/// or HDF5 dataset/attribute) and what was expected versus found.
public enum DatasetError: Error, Equatable, CustomStringConvertible {
    /// `manifest.json` is missing, unreadable or not JSON.
    case cannotReadManifest(file: String, reason: String)
    /// A manifest field is missing, has the wrong type, or a value the format does not allow.
    case invalidManifest(file: String, field: String, expected: String, found: String)
    /// A shard's HDF5 structure could not be read as the format requires (missing dataset, wrong
    /// element type or rank, damaged or truncated file).
    case unreadableShard(HDF5Error)
    /// A sample's image could not be read (a shard damaged or truncated after opening).
    case unreadableSample(split: String, index: Int, sampleID: String, error: HDF5Error)
    /// A shard's content disagrees with the format or the manifest.
    case invalidShard(file: String, field: String, expected: String, found: String)
    /// Counts recomputed from the shards disagree with the manifest.
    case countsDisagree(file: String, field: String, manifest: String, shards: String)
    /// A sample or patient id appears in two splits (or a sample id twice).
    case idInTwoPlaces(kind: String, id: String, first: String, second: String)
    /// A split name that the manifest does not list.
    case unknownSplit(file: String, split: String, known: [String])

    /// The message shown to users: file, field, expected versus found.
    public var description: String {
        switch self {
        case let .cannotReadManifest(file, reason):
            return "\(file): cannot read the dataset manifest (\(reason)); run data-prep to make the dataset"
        case let .invalidManifest(file, field, expected, found):
            return "\(file): field '\(field)': expected \(expected), found \(found)"
        case let .unreadableShard(error):
            return "\(error)"
        case let .unreadableSample(split, index, sampleID, error):
            return "\(error) (sample '\(sampleID)', number \(index) of split '\(split)')"
        case let .invalidShard(file, field, expected, found):
            return "\(file): '\(field)': expected \(expected), found \(found)"
        case let .countsDisagree(file, field, manifest, shards):
            return "\(file): field '\(field)' says \(manifest), but the shards hold \(shards)"
        case let .idInTwoPlaces(kind, id, first, second):
            let rule = kind == "patient" ? "a patient must belong to one split only" : "sample ids must be unique in the dataset"
            return "\(kind) id '\(id)' appears in \(first) and again in \(second); \(rule)"
        case let .unknownSplit(file, split, known):
            return "\(file): no split '\(split)' (the dataset has \(known.joined(separator: ", ")))"
        }
    }
}
