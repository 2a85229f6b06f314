import Dataset
import Foundation
import JSON

/// What a checkpoint records so that a resume can prove it continues the same run: the settings
/// that decide the result and the data trained on. Both are compact JSON in the checkpoint's
/// metadata, so the check works even after config.json was deleted.
public enum RunFingerprints {
    /// The result-defining settings as one JSON object.
    public static func settings(_ settings: TrainingSettings, resolvedClassWeights: [Double]?) -> JSONValue {
        .object(settings.resultDefining(resolvedClassWeights: resolvedClassWeights))
    }

    /// The dataset: a hash of manifest.json's bytes (FNV-1a, 64 bits) and every split's sample count.
    public static func dataset(_ dataset: PreparedDataset) -> JSONValue {
        let path = (dataset.directory as NSString).appendingPathComponent("manifest.json")
        let bytes = FileManager.default.contents(atPath: path) ?? Data()
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return .object([
            ("manifest_fnv1a64", .string(String(hash, radix: 16))),
            ("splits", .object(dataset.splits.map { ($0.name, .number(Double($0.count))) })),
        ])
    }

    /// The first setting whose recorded value differs from this run's, if any.
    public static func firstDifference(recorded: JSONValue, current: JSONValue)
        -> (setting: String, recorded: String, given: String)? {
        for (key, value) in current.objectValue ?? [] {
            let old = recorded[key] ?? .null
            if old != value { return (key, old.compactRendered(), value.compactRendered()) }
        }
        return nil
    }

    /// Says what changed in the data between the checkpoint and now, or nil when nothing did.
    public static func datasetChange(recorded: JSONValue, current: JSONValue) -> String? {
        for (name, count) in current["splits"]?.objectValue ?? [] {
            let old = recorded["splits"]?[name]
            if old != count {
                return "the \(name) split has \(count.compactRendered()) samples; the checkpoint was trained on "
                    + (old.map { "\($0.compactRendered()) samples" } ?? "a dataset without it")
            }
        }
        if recorded["manifest_fnv1a64"] != current["manifest_fnv1a64"] {
            return "manifest.json differs from the one the checkpoint was trained with (the dataset was prepared again)"
        }
        return nil
    }
}
