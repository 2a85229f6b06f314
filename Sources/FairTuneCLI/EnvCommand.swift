import Arguments
import Distributed
import Foundation
import HDF5IO
import Tensor

/// `fairtune env`: what this process found on the machine.
let envCommand = Command(CommandSpec(
    name: "fairtune env",
    summary: "Print library versions, the CPU, the BLAS kernels and threads, and the MPI rank and size.",
    options: [.flag("no-mpi", "do not initialise MPI")]
)) { args in
    let cpu = CPUInfo.current()
    let environment = ProcessInfo.processInfo.environment
    var rows: [(String, String)] = [
        ("fairtune", fairtuneVersion),
        ("HDF5", hdf5Version),
        ("MPI library", MPICommunicator.libraryVersion),
        ("BLAS", BLASRuntime.config),
        ("BLAS core", BLASRuntime.coreName + (BLASRuntime.isAVX512Core(BLASRuntime.coreName) ? " (AVX-512)" : "")),
        ("BLAS threads", String(BLASRuntime.threads)),
        ("OPENBLAS_CORETYPE", environment["OPENBLAS_CORETYPE"].map {
            $0 + (environment["FAIRTUNE_SET_CORETYPE"] == "1" ? " (set by fairtune)" : " (set by the user)")
        } ?? "unset"),
        ("oneDNN", GEMMSelection.onednnVersion + ", matmul kernels " + (GEMMSelection.onednnFP32Kernel ?? "none") + " (f32), "
            + (GEMMSelection.onednnBF16Kernel ?? "none") + " (bf16)"),
        ("GEMM modes", "openblas fp32 by default; --precision auto / --gemm auto measure per run "
            + "(bf16 is a candidate: \(GEMMSelection.onednnBF16Kernel == nil ? "no" : "yes")); the choice and its "
            + "GFLOP/s are in the run's config.json (run.gemm) and gemm-selection.json"),
        ("CPU", cpu.modelName + (cpu.family.map { " (family \($0), model \(cpu.model ?? -1))" } ?? "")),
        ("CPU flags", cpu.simdFlags.joined(separator: " ")),
        ("logical CPUs", String(cpu.logicalProcessors)),
    ]
    if !args.flag("no-mpi") {
        let world = try MPICommunicator.world()
        rows.append(("MPI rank/size", "\(world.rank)/\(world.size)" + (world.usesMPI ? "" : " (no MPI launcher)")))
        defer { world.finalize() }
        // Every rank's own view, gathered so that rank 0 prints them in rank order.
        let lines = try world.gather(Array(rankLine(world: world).utf8))
        if world.isRoot {
            printTable(rows)
            print("ranks (one line each):")
            for line in lines ?? [] { print("  " + String(decoding: line, as: UTF8.self)) }
        }
    } else {
        printTable(rows)
    }
    return ExitStatus.success
}

/// What differs between ranks: the node, the process, the CPUs it may run on and its BLAS threads.
func rankLine(world: MPICommunicator) -> String {
    let host = ProcessInfo.processInfo.hostName
    let cpus = CPUInfo.usableProcessors().map(String.init) ?? "unknown"
    return "rank \(world.rank)/\(world.size)  host \(host)  pid \(getpid())  CPUs usable \(cpus)  BLAS threads \(BLASRuntime.threads)"
}

/// Prints `key  value` rows with the keys aligned.
func printTable(_ rows: [(key: String, value: String)]) {
    let width = rows.map(\.key.count).max() ?? 0
    for (k, v) in rows {
        print(k + String(repeating: " ", count: width - k.count) + "  " + v)
    }
}
