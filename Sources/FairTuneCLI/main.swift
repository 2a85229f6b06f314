import Arguments
import Foundation
import Tensor

// OpenBLAS reads OPENBLAS_CORETYPE only while loading, before main runs; restarting is the only
// way to get its AVX-512 kernels on CPUs it does not know. Done before MPI starts.
restartWithFastBLASIfNeeded()

let tool = Command(group: "fairtune", summary: """
    Fairness-aware parameter-efficient fine-tuning of vision transformers (FairTune).
    Version \(fairtuneVersion).
    """, subcommands: [
    envCommand,
    forwardCommand,
    Command(group: "fairtune bench", summary: "Measure speed on this machine.",
            subcommands: [benchGEMMCommand, benchTrainCommand, benchDataCommand, benchMetricsCommand, benchSamplerCommand]),
    Command(group: "fairtune data", summary: "Inspect prepared datasets.", subcommands: [dataCheckCommand]),
    metricsCommand,
    trainCommand,
    exportCommand,
])

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments == ["--version"] {
    print("fairtune \(fairtuneVersion)")
    exit(0)
}
exit(runCommand(tool, arguments))
