// swift-tools-version:6.0
import Foundation
import PackageDescription

// The pkg-config names of the MPI and HDF5 C libraries. Debian's are the defaults; a cluster's
// modules usually install other names (`mpich` for MPICH, Cray MPICH and MVAPICH, `impi` for
// Intel MPI, `hdf5` for HDF5). docs/cluster.md lists them.
let environment = ProcessInfo.processInfo.environment
let mpiPackage = environment["FAIRTUNE_MPI_PC"] ?? "ompi-c"
let hdf5Package = environment["FAIRTUNE_HDF5_PC"] ?? "hdf5-serial"

/// Stops the build with a message naming the variable when pkg-config does not know `name`.
/// (SwiftPM itself only warns and then fails on a missing header.)
func requirePkgConfig(_ name: String, variable: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["pkg-config", "--exists", name]
    do { try process.run() } catch {
        print("error: pkg-config is not installed; fairtune finds MPI and HDF5 with it")
        exit(1)
    }
    process.waitUntilExit()
    guard process.terminationStatus != 0 else { return }
    print("""
        error: pkg-config finds no package '\(name)' (\(variable)). Load the module that provides it, \
        add the directory of its .pc file to PKG_CONFIG_PATH, or set \(variable) to the name it has \
        here (`pkg-config --list-all | grep -i -e mpi -e hdf5` lists them); see docs/cluster.md.
        """)
    exit(1)
}
requirePkgConfig(mpiPackage, variable: "FAIRTUNE_MPI_PC")
requirePkgConfig(hdf5Package, variable: "FAIRTUNE_HDF5_PC")

let package = Package(
    name: "fairtune",
    products: [
        .executable(name: "fairtune", targets: ["fairtune"]),
    ],
    targets: [
        // MARK: - Native libraries (module map + shim header of static inline accessors)
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: hdf5Package,
                       providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: mpiPackage,
                       providers: [.apt(["libopenmpi-dev"])]),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        // oneDNN ships no pkg-config file; its headers are in the default include path.
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL", providers: [.apt(["libdnnl-dev"])]),

        // MARK: - Safe wrappers
        .target(name: "HDF5IO", dependencies: ["CHDF5", "FileOutput"]),
        .target(name: "Distributed", dependencies: ["CMPI"]),
        .target(name: "Tensor", dependencies: ["COpenBLAS", "CDNNL"]),
        .target(name: "Arguments"),
        .target(name: "FileOutput"),
        // One writer per run directory (a lock file; leaf apart from the JSON record it holds).
        .target(name: "RunLock", dependencies: ["JSON"]),
        .target(name: "JSON"),
        .target(name: "Randomness"),
        .target(name: "SafeTensors", dependencies: ["FileOutput", "JSON"]),
        .target(name: "ViT", dependencies: ["Tensor", "SafeTensors", "Randomness"]),
        .target(name: "Optimization"),

        // MARK: - Training
        .target(name: "Training", dependencies: ["JSON", "ViT", "Dataset", "Metrics", "Distributed", "DistributedEvaluation",
                                                 "Optimization", "SafeTensors", "FileOutput", "RunLock", "Tensor"]),
        // Metrics over predictions spread across MPI ranks (Metrics itself stays free of MPI).
        .target(name: "DistributedEvaluation", dependencies: ["Distributed", "Metrics"]),

        .target(name: "Metrics", dependencies: ["JSON", "Randomness"]),

        // MARK: - Search (a leaf: knows nothing of MPI, the ViT or training)
        .target(name: "Search", dependencies: ["JSON", "Randomness"]),
        // The study worker: search wired to training (rank 0 holds the journal; every rank trains).
        .target(name: "StudyRunner", dependencies: ["Search", "Training", "Distributed", "Metrics", "JSON"]),

        // MARK: - Plots (a leaf: standalone SVG files, knows nothing of training)
        .target(name: "Plot"),

        // MARK: - Data
        .target(name: "Dataset", dependencies: ["HDF5IO", "JSON", "FileOutput", "Randomness"]),

        // MARK: - The executable
        .executableTarget(name: "fairtune",
                          dependencies: ["Arguments", "JSON", "DistributedEvaluation", "HDF5IO", "Distributed", "Tensor", "Dataset", "Metrics",
                                         "SafeTensors", "ViT", "FileOutput", "RunLock", "Training", "Optimization", "Randomness",
                                         "Search", "StudyRunner", "Plot"],
                          path: "Sources/FairTuneCLI"),

        // MARK: - Tests
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .executableTarget(name: "fairtune-mpi-check", dependencies: ["Distributed"], path: "Tests/MPICheck"),
        .executableTarget(name: "fairtune-study-check", dependencies: ["Search", "JSON", "Randomness"], path: "Tests/StudyCheck"),
        .executableTarget(name: "fairtune-lock-check", dependencies: ["RunLock"], path: "Tests/LockCheck"),
        .executableTarget(name: "fairtune-hdf5-exit-check", dependencies: ["HDF5IO"], path: "Tests/HDF5ExitCheck"),
        .testTarget(name: "HDF5IOTests", dependencies: ["HDF5IO", "TestSupport"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor"]),
        .testTarget(name: "ArgumentsTests", dependencies: ["Arguments"]),
        .testTarget(name: "TrainingTests", dependencies: ["JSON", "Distributed", "Training", "ViT", "Optimization", "SafeTensors", "Metrics", "TestSupport", "Tensor"]),
        .testTarget(name: "CLITests", dependencies: ["fairtune", "TestSupport", "SafeTensors", "JSON"]),
        .testTarget(name: "FileOutputTests", dependencies: ["FileOutput", "TestSupport"]),
        .testTarget(name: "RunLockTests", dependencies: ["RunLock", "TestSupport"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors", "TestSupport"]),
        .testTarget(name: "ViTTests", dependencies: ["ViT", "Tensor", "SafeTensors", "Optimization", "Training", "TestSupport"]),
        .testTarget(name: "OptimizationTests", dependencies: ["Optimization", "SafeTensors", "TestSupport"]),
        .testTarget(name: "DatasetTests", dependencies: ["Dataset", "HDF5IO", "Randomness", "TestSupport"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "SearchTests", dependencies: ["Search", "JSON", "Randomness", "TestSupport"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "Randomness", "TestSupport"]),
        .testTarget(name: "PlotTests", dependencies: ["Plot"]),
        .testTarget(name: "StudyRunnerTests", dependencies: ["StudyRunner", "Search", "Training", "Distributed", "Metrics", "JSON",
                                                           "TestSupport"]),
    ]
)

// Hand-written loops (layer norm, GELU, softmax, optimizers) need AVX2 and FMA to vectorise; without
// them every fused multiply-add is a library call. AVX2 + FMA (Haswell, 2013, and every later
// x86 server CPU) is the baseline fairtune assumes on x86_64.
#if arch(x86_64)
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-target-cpu", "haswell"])]
}
#endif
