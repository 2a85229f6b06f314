// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "fairtune",
    products: [
        .executable(name: "fairtune", targets: ["fairtune"]),
    ],
    targets: [
        // MARK: - Native libraries (module map + shim header of static inline accessors)
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5-serial",
                       providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev"])]),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),

        // MARK: - Safe wrappers
        .target(name: "HDF5IO", dependencies: ["CHDF5"]),
        .target(name: "Distributed", dependencies: ["CMPI"]),
        .target(name: "Tensor", dependencies: ["COpenBLAS"]),
        .target(name: "Arguments"),
        .target(name: "FileOutput"),
        .target(name: "JSON"),
        .target(name: "Randomness"),
        .target(name: "SafeTensors", dependencies: ["FileOutput"]),
        .target(name: "ViT", dependencies: ["Tensor", "SafeTensors", "Optimization", "Randomness"]),
        .target(name: "Optimization"),

        // MARK: - Training
        .target(name: "Training", dependencies: ["JSON", "ViT", "Dataset", "Metrics", "Distributed", "Optimization", "SafeTensors", "FileOutput", "Tensor"]),

        .target(name: "Metrics", dependencies: ["JSON"]),

        // MARK: - Search (a leaf: knows nothing of MPI, the ViT or training)
        .target(name: "Search", dependencies: ["JSON", "Randomness"]),

        // MARK: - Data
        .target(name: "Dataset", dependencies: ["HDF5IO", "Randomness"]),

        // MARK: - The executable
        .executableTarget(name: "fairtune",
                          dependencies: ["Arguments", "JSON", "HDF5IO", "Distributed", "Tensor", "Dataset", "Metrics",
                                         "SafeTensors", "ViT", "FileOutput", "Training", "Optimization", "Randomness", "Search"],
                          path: "Sources/FairTuneCLI"),

        // MARK: - Tests
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .executableTarget(name: "fairtune-mpi-check", dependencies: ["Distributed"], path: "Tests/MPICheck"),
        .testTarget(name: "HDF5IOTests", dependencies: ["HDF5IO", "TestSupport"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor"]),
        .testTarget(name: "ArgumentsTests", dependencies: ["Arguments"]),
        .testTarget(name: "TrainingTests", dependencies: ["JSON", "Training", "ViT", "Optimization", "SafeTensors", "Metrics", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["fairtune", "TestSupport", "SafeTensors", "JSON"]),
        .testTarget(name: "FileOutputTests", dependencies: ["FileOutput", "TestSupport"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors", "TestSupport"]),
        .testTarget(name: "ViTTests", dependencies: ["ViT", "Tensor", "SafeTensors", "Optimization", "TestSupport"]),
        .testTarget(name: "OptimizationTests", dependencies: ["Optimization", "SafeTensors", "TestSupport"]),
        .testTarget(name: "DatasetTests", dependencies: ["Dataset", "HDF5IO", "Randomness", "TestSupport"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "SearchTests", dependencies: ["Search", "JSON", "Randomness", "TestSupport"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "TestSupport"]),
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
