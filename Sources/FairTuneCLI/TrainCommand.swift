import Arguments
import Distributed
import Foundation
import Metrics
import Tensor
import Training
import ViT

/// `fairtune train`: data-parallel PEFT fine-tuning with validation fairness metrics every epoch,
/// checkpoints and exact resume. The same command runs alone, under `mpirun -n P` or
/// `srun --mpi=pmix`.
let trainCommand = Command(CommandSpec(
    name: "fairtune train",
    summary: """
        Fine-tune a timm ViT on a prepared dataset, data-parallel over MPI ranks (the global batch is
        split across ranks; one allreduce of the trainable gradients per step). Evaluates the val
        split every epoch (metrics of every --attribute), the test split at the end with --test.
        RUN_DIR gets config.json, metrics.jsonl, result.json, predictions-{val,test}.csv and
        checkpoint.safetensors. SIGTERM/SIGUSR1 finish the step, checkpoint and exit 75; rerunning
        the same command into RUN_DIR resumes exactly. Exit 3: the loss or gradients became non-finite.
        """,
    options: TrainOptions.specs
)) { args in
    let world = try MPICommunicator.world()
    defer { world.finalize() }
    let prefix = world.size > 1 && !world.isRoot ? "[rank \(world.rank)/\(world.size)] " : ""
    StopRequest.install()
    let trainer: Trainer
    do {
        trainer = try agreeOnSetup(world: world) {
            let settings = try TrainOptions.settings(args, world: world)
            // fairtune's own workers split every product and the row-wise work alike (OpenBLAS runs
            // single-threaded): faster than OpenBLAS's threads on ViT shapes (BENCHMARKS.md).
            ParallelRows.useOwnThreads(settings.threads)
            return try Trainer(settings: settings, version: fairtuneVersion, world: world,
                               say: { text in if world.isRoot { print(text); fflush(nil) } },
                               warn: { text in if world.isRoot { printError(text) } })  // the same on every rank
        }
    } catch let error as CollectiveSetupError {
        if let message = error.message { printError(message) }
        return ExitStatus.failure
    }
    do {
        switch try trainer.run().ending {
        case .completed, .alreadyCompleted, .pruned: return ExitStatus.success
        case .stopped: return ExitStatus.resumable
        case let .diverged(message):
            if world.isRoot { printError("error: \(message)") }
            return ExitStatus.diverged
        }
    } catch {
        // A rank failing mid-run would leave the others waiting in a collective: stop them all.
        printError("\(prefix)error: \(error)")
        if world.size > 1 { world.abort(code: ExitStatus.failure) }
        return ExitStatus.failure
    }
}
