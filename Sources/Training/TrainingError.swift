/// A training failure a user can act on; each case names the file, setting or step involved.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// A setting that cannot work with this data or model (`setting` is the option name).
    case invalidSetting(setting: String, message: String)
    /// A checkpoint that does not belong to this model or trainable set, or is damaged.
    case checkpointMismatch(path: String, message: String)
    /// A resumed run whose setting differs from the one recorded in `config.json`.
    case resumeMismatch(path: String, setting: String, recorded: String, given: String)
    /// `--resume` without a checkpoint to resume from.
    case nothingToResume(directory: String)
    /// The data changed between the checkpoint and this run.
    case datasetChanged(checkpoint: String, data: String, change: String)
    /// `--out` names a folder that holds files but is not a fairtune run directory.
    case notARunDirectory(directory: String, example: String)
    /// Loss or gradients became NaN or infinite.
    case diverged(epoch: Int, step: Int, detail: String)
    /// The ranks' trainable weights differ (a bug or a broken MPI setup, never expected).
    case replicasDiffer(epoch: Int, minimum: Double, maximum: Double)
    /// A run file that could not be read or written.
    case runFile(path: String, message: String)

    /// What went wrong and what to change.
    public var description: String {
        switch self {
        case let .invalidSetting(setting, message):
            return "--\(setting): \(message)"
        case let .checkpointMismatch(path, message):
            return "\(path): \(message)"
        case let .resumeMismatch(path, setting, recorded, given):
            return "\(path) records \(setting) = \(recorded) but this run gives \(given); resume with the same settings "
                + "or choose another --out"
        case let .datasetChanged(checkpoint, data, change):
            return "\(checkpoint) was trained on other data than \(data) holds now: \(change); resume with the same data "
                + "or choose another --out"
        case let .notARunDirectory(directory, example):
            return "--out \(directory) holds other files (e.g. \(example)) and is not a fairtune run directory; "
                + "choose an empty or new folder"
        case let .nothingToResume(directory):
            return "--resume: \(directory) holds no checkpoint.safetensors to resume from"
        case let .diverged(epoch, step, detail):
            return "training diverged at epoch \(epoch + 1), step \(step): \(detail); lower --lr or set --clip-grad-norm"
        case let .replicasDiffer(epoch, minimum, maximum):
            return "after epoch \(epoch) the ranks' trainable weights differ (checksums \(minimum) ... \(maximum)); "
                + "the ranks no longer train the same model"
        case let .runFile(path, message):
            return "\(path): \(message)"
        }
    }
}
