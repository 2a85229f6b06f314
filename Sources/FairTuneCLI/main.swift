import Arguments
import Foundation
import Tensor
import Training

let arguments = Array(CommandLine.arguments.dropFirst())
// Training stops cleanly (checkpoint, exit 75) on SIGTERM/SIGUSR1: take the signals before anything
// else (before MPI starts, before the data are opened), so a stop in the first milliseconds (a
// Slurm preemption) is never a kill. Only the dynamic loader runs before this line.
if arguments.first == "train" { StopRequest.install() }

// OpenBLAS reads OPENBLAS_CORETYPE only while loading, before main runs; restarting is the only
// way to get its AVX-512 kernels on CPUs it does not know. Done before MPI starts.
restartWithFastBLASIfNeeded()

let tool = Command(group: "fairtune", summary: """
    Fairness-aware parameter-efficient fine-tuning of vision transformers (FairTune).
    Version \(fairtuneVersion).
    """, subcommands: [
    envCommand,
    initCommand,
    forwardCommand,
    Command(group: "fairtune bench", summary: "Measure speed on this machine.",
            subcommands: [benchGEMMCommand, benchTrainCommand, benchDataCommand, benchMetricsCommand]),
    Command(group: "fairtune data", summary: "Inspect prepared datasets.", subcommands: [dataCheckCommand]),
    metricsCommand,
    trainCommand,
    exportCommand,
    finetuneCommand,
    reportCommand,
])

if arguments == ["--version"] {
    print("fairtune \(fairtuneVersion)")
    exit(0)
}
exit(runCommand(tool, arguments))
