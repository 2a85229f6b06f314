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
        .target(name: "SafeTensors"),
        .target(name: "ViT", dependencies: ["Tensor", "SafeTensors", "Optimization"]),
        .target(name: "Optimization"),

        // MARK: - The executable
        .executableTarget(name: "fairtune",
                          dependencies: ["Arguments", "HDF5IO", "Distributed", "Tensor", "SafeTensors", "ViT"],
                          path: "Sources/FairTuneCLI"),

        // MARK: - Tests
        .testTarget(name: "HDF5IOTests", dependencies: ["HDF5IO"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor"]),
        .testTarget(name: "ArgumentsTests", dependencies: ["Arguments"]),
        .testTarget(name: "CLITests", dependencies: ["fairtune"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"]),
        .testTarget(name: "ViTTests", dependencies: ["ViT", "Tensor", "SafeTensors", "Optimization"]),
        .testTarget(name: "OptimizationTests", dependencies: ["Optimization", "SafeTensors"]),
    ]
)
