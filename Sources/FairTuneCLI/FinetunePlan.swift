import Arguments
import Foundation
import JSON
import Training

/// The runs of `fairtune finetune` and where they live: `DIR/<method>/seed-<s>/`, and a baseline's
/// learning-rate grid under `DIR/<method>/lr-<value>/` (first seed). The grid run of the chosen
/// rate is the first seed's run: `seed-<first>` is a symbolic link to it.
struct FinetunePlan {
    /// One method: FairTune (the study's mask and rate) or a baseline (a tuning method and rates).
    struct Method {
        let name: String
        /// `--tuning` of its runs.
        let tuning: String
        /// `--mask` of its runs (FairTune only).
        let mask: String?
        /// Candidate learning rates as written by the user (or the trial's rate); more than one is a grid.
        let rates: [String]
        /// The study trial it retrains (FairTune only).
        let trial: Int?
        /// `--head-lr-multiplier` of its runs (FairTune, when the study searched it).
        var headMultiplier: String? = nil
        var hasGrid: Bool { rates.count > 1 }
    }

    /// One training run to do.
    struct Run: Equatable {
        let method: String
        let seed: Int
        /// Its learning rate; nil for a baseline's seed run whose rate the grid has not chosen yet.
        let rate: String?
        /// True for a learning-rate grid run.
        let isGridRun: Bool
        /// `METHOD:SEED` or `METHOD:lr-VALUE`, as `--list` prints it and `--only` takes it.
        var label: String { isGridRun ? "\(method):lr-\(rate!)" : "\(method):\(seed)" }
    }

    static let baselineTuning = ["fullft": "full", "linear": "head"]

    let out: String
    let seeds: [Int]
    let methods: [Method]

    func directory(_ method: String, seed: Int) -> String { "\(out)/\(method)/seed-\(seed)" }
    func gridDirectory(_ method: String, rate: String) -> String { "\(out)/\(method)/lr-\(rate)" }

    /// Every run, in the order they are done: FairTune's seeds, then per baseline its grid and its
    /// other seeds (the first seed is the chosen grid run).
    var runs: [Run] {
        methods.flatMap { m -> [Run] in
            if m.hasGrid {
                return m.rates.map { Run(method: m.name, seed: seeds[0], rate: $0, isGridRun: true) }
                    + seeds.dropFirst().map { Run(method: m.name, seed: $0, rate: nil, isGridRun: false) }
            }
            return seeds.map { Run(method: m.name, seed: $0, rate: m.rates[0], isGridRun: false) }
        }
    }

    /// The run `--only` names.
    func run(labelled label: String) throws -> Run {
        if let run = runs.first(where: { $0.label == label }) { return run }
        if let m = methods.first(where: { "\($0.name):\(seeds[0])" == label && $0.hasGrid }) {
            throw ArgumentError.invalidValue(command: "fairtune finetune", option: "--only", value: label,
                                             expected: "a run of --list: \(m.name)'s first seed is its chosen lr-grid run ("
                                                + m.rates.map { "\(m.name):lr-\($0)" }.joined(separator: ", ") + ")")
        }
        throw ArgumentError.invalidValue(command: "fairtune finetune", option: "--only", value: label,
                                         expected: "one of " + runs.map(\.label).joined(separator: ", "))
    }

    /// A run directory's result.json, nil when missing or unreadable (a run not started or not finished).
    static func result(of directory: String) -> JSONValue? {
        (try? RunFiles.readObject(RunFiles(directory: directory).result)) ?? nil
    }

    /// The directory a run trains into.
    func directory(of run: Run) -> String {
        run.isGridRun ? gridDirectory(run.method, rate: run.rate!) : directory(run.method, seed: run.seed)
    }

    /// A baseline's grid: each rate with its run's validation overall AUC (nil while unfinished or undefined).
    func grid(_ method: Method) -> [(rate: String, valAUC: Double?, finished: Bool)] {
        method.rates.map { rate in
            let result = FinetunePlan.result(of: gridDirectory(method.name, rate: rate))
            let finished = result?["status"]?.stringValue == "completed"
            let auc = finished ? result?["val"]?["overall"]?["auc"]?["value"]?.doubleValue : nil
            return (rate: rate, valAUC: auc, finished: finished)
        }
    }

    /// The grid's rate with the highest validation overall AUC (the first on ties); nil until every
    /// grid run has finished.
    func chosenRate(_ method: Method) throws -> String? {
        guard method.hasGrid else { return method.rates[0] }
        let grid = grid(method)
        guard grid.allSatisfy(\.finished) else { return nil }
        var best: (rate: String, auc: Double)?
        for entry in grid {
            if let auc = entry.valAUC, best.map({ auc > $0.auc }) ?? true { best = (entry.rate, auc) }
        }
        guard let best else {
            throw FinetuneError(message: "\(method.name): no run of its learning-rate grid has a defined validation AUC (\(out)/\(method.name)/lr-*/result.json)")
        }
        return best.rate
    }

    /// Links `seed-<first>` to the chosen grid run (relative, so the folder can move). Several array
    /// tasks may do this at once: a link already there with the right target is success.
    func linkFirstSeed(_ method: Method, rate: String) throws {
        let link = directory(method.name, seed: seeds[0])
        let target = "lr-\(rate)"
        let manager = FileManager.default
        if let existing = try? manager.destinationOfSymbolicLink(atPath: link) {
            if existing == target { return }
            try? manager.removeItem(atPath: link)
        }
        do {
            try manager.createSymbolicLink(atPath: link, withDestinationPath: target)
        } catch {
            if (try? manager.destinationOfSymbolicLink(atPath: link)) == target { return }
            throw FinetuneError(message: "\(link): cannot link the chosen grid run \(target): \(error.localizedDescription)")
        }
    }
}

/// A stage-2 failure the user can act on.
struct FinetuneError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

extension FinetunePlan {
    /// `1,2,3` → [1, 2, 3]: distinct non-negative integers.
    static func parseSeeds(_ text: String) throws -> [Int] {
        let seeds = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !seeds.isEmpty, seeds.allSatisfy({ $0 != nil && $0! >= 0 }), Set(seeds.map { $0! }).count == seeds.count else {
            throw ArgumentError.invalidValue(command: "fairtune finetune", option: "--seeds", value: text,
                                             expected: "distinct non-negative integers separated by commas, e.g. 1,2,3")
        }
        return seeds.map { $0! }
    }

    /// `--baselines` (names) and `--baseline-lrs` (`name=r1:r2:r3,name=r`) → baselines with their rates.
    static func parseBaselines(_ names: String, rates: String) throws -> [Method] {
        let list = names == "none" ? [] : names.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for name in list where baselineTuning[name] == nil {
            throw ArgumentError.invalidValue(command: "fairtune finetune", option: "--baselines", value: names,
                                             expected: "fullft and/or linear separated by commas, or none")
        }
        var grids: [String: [String]] = [:]
        for entry in rates.split(separator: ",") {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            let values = parts.count == 2 ? parts[1].split(separator: ":").map(String.init) : []
            guard parts.count == 2, baselineTuning[parts[0]] != nil, !values.isEmpty,
                  values.allSatisfy({ Double($0).map { $0 > 0 && $0.isFinite } ?? false }), Set(values).count == values.count else {
                throw ArgumentError.invalidValue(command: "fairtune finetune", option: "--baseline-lrs", value: rates,
                                                 expected: "METHOD=LR[:LR...] separated by commas, e.g. fullft=1e-4:3e-4:1e-3,linear=1e-2")
            }
            grids[parts[0]] = values
        }
        return try list.map { name in
            guard let rates = grids[name] else {
                throw ArgumentError.invalidValue(command: "fairtune finetune", option: "--baseline-lrs", value: rates,
                                                 expected: "a learning rate or grid for every baseline (missing \(name))")
            }
            return Method(name: name, tuning: baselineTuning[name]!, mask: nil, rates: rates, trial: nil)
        }
    }
}
