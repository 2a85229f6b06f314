import Foundation
import JSON
import Search
import ViT

/// A study's training options and search results as stage 2 and the report read them: the
/// study user attributes `fairtune:train_arguments` (the `fairtune train` arguments, without
/// `--out`), `fairtune:objective` and `fairtune:objective_attribute`, and the trial parameters
/// `Mask Idx i` and `lr`.
struct StudySetup {
    enum Key {
        static let trainArguments = "fairtune:train_arguments"
        static let objective = "fairtune:objective"
        static let objectiveAttribute = "fairtune:objective_attribute"
        /// Trial user attributes that may name the trial's run directory, in the order tried.
        static let runDirectory = ["fairtune:run_dir", "fairtune:run_directory", "run_dir"]
        static let maskPrefix = "Mask Idx "
    }

    let path: String
    let name: String
    let directions: [StudyDirection]
    let trainArguments: [String]
    /// One name per objective, e.g. ["min_auc"].
    let objectives: [String]
    /// The attribute of the group objectives; else the first `--attribute` of the training options.
    let attribute: String
    /// The PEFT method of the searched mask (`--tuning` of the training options).
    let tuning: PEFTMethod?
    let trials: [Trial]
    let wantedTrials: Int?

    /// Reads the study at `path` (its only study) without writing to it.
    init(path: String) throws {
        let study = try Study(path: path, workerID: "reader")
        self.path = path
        name = study.name
        directions = study.directions
        trials = study.trials
        func attribute(_ key: String) -> JSONValue? { study.userAttributes.last { $0.key == key }?.value }
        guard let stored = attribute(Key.trainArguments)?.arrayValue,
              stored.allSatisfy({ $0.stringValue != nil }) else {
            throw StudySetupError(path: path, message: "the study has no user attribute \(Key.trainArguments) (a JSON array of "
                                  + "`fairtune train` arguments); was it created by `fairtune study create`?")
        }
        trainArguments = stored.compactMap(\.stringValue)
        switch attribute(Key.objective) {
        case let .string(text)?: objectives = [text]
        case let .array(items)? where items.allSatisfy({ $0.stringValue != nil }): objectives = items.compactMap(\.stringValue)
        default: objectives = study.directions.indices.map { "objective \($0 + 1)" }
        }
        let attributes = StudySetup.optionValues("attribute", in: trainArguments)
        guard let chosen = attribute(Key.objectiveAttribute)?.stringValue ?? attributes.first else {
            throw StudySetupError(path: path, message: "the stored training arguments name no --attribute")
        }
        self.attribute = chosen
        tuning = StudySetup.optionValues("tuning", in: trainArguments).last.flatMap { try? PEFTMethod(name: $0) }
        wantedTrials = attribute(Study.Key.finishedTrialsWanted)?.intValue
    }

    /// Every value of `--name` in an argument list (`--name value` or `--name=value`).
    static func optionValues(_ name: String, in arguments: [String]) -> [String] {
        var values: [String] = []
        for (i, word) in arguments.enumerated() {
            if word == "--" + name, i + 1 < arguments.count { values.append(arguments[i + 1]) }
            if word.hasPrefix("--\(name)=") { values.append(String(word.dropFirst(name.count + 3))) }
        }
        return values
    }

    /// The trial whose configuration stage 2 retrains: `best` is the best COMPLETE trial, for two
    /// objectives the Pareto member best in the first; otherwise a trial number, which must be COMPLETE.
    func chosenTrial(_ selector: String) throws -> Trial {
        let complete = trials.filter { $0.state == .complete && $0.values.map { !$0.contains(where: \.isNaN) } ?? false }
        if selector == "best" {
            let sign = directions.first == .minimize ? 1.0 : -1.0
            let front = complete.filter { t in !complete.contains { dominates($0, t) } }
            // The first on ties, as Optuna's best_trial.
            guard let best = front.min(by: { (sign * $0.values![0], $0.number) < (sign * $1.values![0], $1.number) }) else {
                throw StudySetupError(path: path, message: "the study has no COMPLETE trial yet")
            }
            return best
        }
        guard let number = Int(selector), number >= 0 else {
            throw StudySetupError(path: path, message: "--method '\(selector)': expected best or a trial number")
        }
        guard let trial = trials.first(where: { $0.number == number }) else {
            throw StudySetupError(path: path, message: "--method \(number): the study has no trial \(number) (it has \(trials.count))")
        }
        guard trial.state == .complete else {
            throw StudySetupError(path: path, message: "--method \(number): trial \(number) is \(StudySetup.stateName(trial.state)), not COMPLETE")
        }
        return trial
    }

    /// a no worse than b in every objective and better in one.
    private func dominates(_ a: Trial, _ b: Trial) -> Bool {
        guard let x = a.values, let y = b.values, x.count == directions.count, y.count == directions.count else { return false }
        let signs = directions.map { $0 == .minimize ? 1.0 : -1.0 }
        let sa = zip(signs, x).map { $0 * $1 }, sb = zip(signs, y).map { $0 * $1 }
        return zip(sa, sb).allSatisfy { $0 <= $1 } && zip(sa, sb).contains { $0 < $1 }
    }

    /// The trial's mask: its `Mask Idx i` parameters in index order as 0/1 characters; nil without any.
    static func mask(of trial: Trial) -> String? {
        let bits = trial.params.compactMap { p -> (index: Int, bit: Bool)? in
            guard p.name.hasPrefix(Key.maskPrefix), let i = Int(p.name.dropFirst(Key.maskPrefix.count)) else { return nil }
            return (index: i, bit: p.value >= 0.5)
        }.sorted { $0.index < $1.index }
        return bits.isEmpty ? nil : String(bits.map { $0.bit ? "1" : "0" })
    }

    /// The trial's learning rate text (the parameter `lr`), or nil.
    static func learningRate(of trial: Trial) -> String? { trial.param("lr").map { "\($0)" } }

    /// The trial's run directory from its user attributes, resolved against the study's folder when relative.
    func runDirectory(of trial: Trial) -> String? {
        for key in Key.runDirectory {
            guard let text = trial.userAttribute(key)?.stringValue else { continue }
            if text.hasPrefix("/") || FileManager.default.fileExists(atPath: text) { return text }
            return ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(text)
        }
        return nil
    }

    /// Optuna's name of a state.
    static func stateName(_ state: TrialState) -> String {
        switch state {
        case .running: return "RUNNING"
        case .complete: return "COMPLETE"
        case .pruned: return "PRUNED"
        case .fail: return "FAIL"
        case .waiting: return "WAITING"
        }
    }
}

/// A study that cannot be used as asked; the message names the file.
struct StudySetupError: Error, CustomStringConvertible {
    let path: String
    let message: String
    var description: String { "\(path): \(message)" }
}
