import Arguments
import Distributed
import Foundation
import Metrics
import StudyRunner
import Tensor
import Training

/// `fairtune finetune`: stage 2. Retrains the study's chosen configuration and the baselines once per
/// seed with the study's training settings, evaluates the test split, and compares them.
let finetuneCommand = Command(CommandSpec(
    name: "fairtune finetune",
    summary: """
        Stage 2: retrain the study's best mask and learning rate (or --method TRIAL) and each baseline
        (fullft = every parameter, linear = the head) once per seed with the study's training settings,
        evaluating the test split. A baseline's rate is chosen from its grid by validation overall AUC on
        the first seed. Runs go to DIR/<method>/seed-<s>/ (grid runs DIR/<method>/lr-<value>/); a rerun
        skips finished runs and resumes stopped ones. Writes DIR/summary.json and prints per-method test
        metrics (mean ± std over seeds) and paired bootstrap differences FairTune − baseline.
        SIGTERM/SIGUSR1 stop the current run at a checkpoint and exit 75.
        """,
    options: [
        .value("study", "FILE", "the study journal (from fairtune study create)", required: true),
        .value("out", "DIR", "stage-2 folder (created; existing runs are skipped or resumed)", required: true),
        .value("seeds", "S,S,...", "seeds of every method", default: "1,2,3"),
        .value("baselines", "NAMES", "fullft and/or linear, comma-separated, or none", default: "fullft,linear"),
        .value("baseline-lrs", "M=LR:LR,...", "learning rate or grid per baseline",
               default: "fullft=1e-4:3e-4:1e-3,linear=3e-3:1e-2:3e-2"),
        .value("method", "best|TRIAL", "the study trial to retrain (two objectives: best = the Pareto member best in the first)",
               default: "best"),
        .value("only", "METHOD:SEED", "do this one run (a job array's task; see --list), then the summary if all are done"),
        .flag("list", "print the runs one per line (for a job array's index) and exit"),
        .value("bootstrap", "N", "paired test resamples", default: "1000"),
        .value("bootstrap-seed", "S", "seed of the resamples", default: "0"),
        .value("threads", "N", "compute threads per rank (replaces the study's --threads)"),
    ]
)) { args in
    let setup = try StudySetup(path: try args.requiredString("study"))
    let plan = try finetunePlan(args, setup: setup)
    if args.flag("list") {
        for run in plan.runs { print(run.label) }
        return ExitStatus.success
    }
    let only = try args.string("only").map { try plan.run(labelled: $0) }
    let world = try MPICommunicator.world()
    defer { world.finalize() }
    StopRequest.install()
    let runner = FinetuneRunner(plan: plan, trainArguments: setup.trainArguments, threads: try args.int("threads", in: 1...1024),
                                world: world)
    let status = try runner.runAll(only: only)
    guard status == ExitStatus.success else { return status }
    guard try runner.allFinished() else {
        if world.isRoot { print("Not every run has finished yet; the summary is written once they have (see --list).") }
        return ExitStatus.success
    }
    guard world.isRoot else { return ExitStatus.success }
    let options = BootstrapOptions(resamples: try args.int("bootstrap", in: 1...1_000_000)!, seed: UInt64(try args.int("bootstrap-seed", in: 0...(1 << 53))!))
    let summary = try FinetuneSummary.compute(plan: plan, study: setup, options: options)
    try summary.write(to: "\(plan.out)/summary.json")
    print(summary.table())
    return ExitStatus.success
}

/// The plan from the command line and the study: FairTune's configuration from the chosen trial.
private func finetunePlan(_ args: ParsedArguments, setup: StudySetup) throws -> FinetunePlan {
    let trial = try setup.chosenTrial(try args.requiredString("method"))
    guard let rate = StudySetup.learningRate(of: trial) else {
        throw StudySetupError(path: setup.path, message: "trial \(trial.number) has no parameter lr")
    }
    guard let tuning = setup.tuning else {
        throw StudySetupError(path: setup.path, message: "the stored training arguments have no valid --tuning")
    }
    let fairtune = FinetunePlan.Method(name: "fairtune", tuning: tuning.rawValue, mask: StudySetup.mask(of: trial), rates: [rate],
                                       trial: trial.number,
                                       headMultiplier: trial.param(StudyConfiguration.headMultiplierParameter).map { "\($0)" })
    let baselines = try FinetunePlan.parseBaselines(try args.requiredString("baselines"), rates: try args.requiredString("baseline-lrs"))
    return FinetunePlan(out: try args.requiredString("out"), seeds: try FinetunePlan.parseSeeds(try args.requiredString("seeds")),
                        methods: [fairtune] + baselines)
}

/// Trains the plan's runs in order on every rank (each run data-parallel over the ranks).
struct FinetuneRunner {
    let plan: FinetunePlan
    let trainArguments: [String]
    let threads: Int?
    let world: Communicator

    /// Every run (or the `only` one). Returns the exit status: success, resumable (stopped) or diverged.
    func runAll(only: FinetunePlan.Run?) throws -> Int32 {
        for method in plan.methods {
            for run in plan.runs where run.method == method.name && (only == nil || only == run) {
                if StopRequest.isRequested { return ExitStatus.resumable }
                var rate = run.rate
                if rate == nil {
                    rate = try plan.chosenRate(method)
                    guard let rate else {
                        throw FinetuneError(message: "\(run.label) needs \(method.name)'s learning rate, chosen by its grid runs ("
                                            + method.rates.map { "\(method.name):lr-\($0)" }.joined(separator: ", ")
                                            + ") which have not all finished: run them first")
                    }
                    if world.isRoot { try plan.linkFirstSeed(method, rate: rate) }
                }
                let status = try train(run, method: method, rate: rate!)
                if status != ExitStatus.success { return status }
                // Every rank reads the finished run's files next (the grid choice): after rank 0 wrote them.
                try world.barrier()
            }
            if world.isRoot, method.hasGrid, let rate = try plan.chosenRate(method) { try plan.linkFirstSeed(method, rate: rate) }
        }
        try world.barrier()
        return ExitStatus.success
    }

    /// One run: `fairtune train` with the study's settings and the run's own method, mask, rate and seed.
    private func train(_ run: FinetunePlan.Run, method: FinetunePlan.Method, rate: String) throws -> Int32 {
        let directory = plan.directory(of: run)
        var replacing: [(name: String, value: String?)] = [("tuning", method.tuning), ("lr", rate), ("seed", String(run.seed)),
                                                           ("out", directory), ("test", nil), ("train-metrics", nil)]
        if let mask = method.mask { replacing.append(("mask", mask)) }
        if let multiplier = method.headMultiplier { replacing.append(("head-lr-multiplier", multiplier)) }
        if let threads { replacing.append(("threads", String(threads))) }
        let stored = TrainOptions.arguments(trainArguments, removing: ["mask"])
        if world.isRoot { print("== \(run.label): \(directory)"); fflush(nil) }
        let trainer: Trainer
        do {
            trainer = try agreeOnSetup(world: world) {
                let settings = try TrainOptions.settings(stored: stored, replacing: replacing, world: world)
                ParallelRows.useOwnThreads(settings.threads)
                return try Trainer(settings: settings, version: fairtuneVersion, world: world,
                                   say: { text in if world.isRoot { print(text); fflush(nil) } },
                                   warn: { text in if world.isRoot { printError(text) } })
            }
        } catch let error as CollectiveSetupError {
            if let message = error.message { printError(message) }
            return ExitStatus.failure
        }
        switch try trainer.run().ending {
        case .completed, .alreadyCompleted: return ExitStatus.success
        case .stopped: return ExitStatus.resumable
        case .pruned: throw FinetuneError(message: "\(run.label): the run was pruned, which stage 2 never asks for")
        case let .diverged(message):
            if world.isRoot { printError("error: \(run.label) (\(directory)): \(message)") }
            return ExitStatus.diverged
        }
    }

    /// Every method has a completed run per seed.
    func allFinished() throws -> Bool {
        plan.methods.allSatisfy { m in
            plan.seeds.allSatisfy { seed in
                FinetunePlan.result(of: plan.directory(m.name, seed: seed))?["status"]?.stringValue == "completed"
            }
        }
    }
}
