import Foundation
import TestSupport
import Testing

/// The built `fairtune` binary, end to end.
@Suite struct CLITests {
    static let hasAVX512 = ((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "").contains(" avx512f")

    @Test func helpAndVersion() throws {
        let help = try TestSupport.fairtune(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("commands:") && help.stdout.contains("env") && help.stdout.contains("bench"))
        let version = try TestSupport.fairtune(["--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("fairtune "))
        let sub = try TestSupport.fairtune(["bench", "gemm", "--help"])
        #expect(sub.status == 0 && sub.stdout.contains("--repeats N"))
    }

    @Test func usageErrorsExitTwo() throws {
        for (arguments, message) in [
            (["bench", "gemm", "--bogus"], "unknown option '--bogus'"),
            (["bench", "gemm", "--repeats"], "option '--repeats' needs a value"),
            (["bench", "gemm", "--repeats", "zero"], "invalid value 'zero' for '--repeats'"),
            (["fly"], "unknown command 'fly'"),
        ] {
            let r = try TestSupport.fairtune(arguments)
            #expect(r.status == 2, "\(arguments) exited \(r.status)")
            #expect(r.stderr.contains(message), "\(arguments): \(r.stderr)")
            #expect(r.stdout.isEmpty)
        }
        let bare = try TestSupport.fairtune([])
        #expect(bare.status == 2 && bare.stderr.contains("commands:"))
    }

    @Test func envReportsTheMachine() throws {
        let r = try TestSupport.fairtune(["env"])
        #expect(r.status == 0, "\(r.stderr)")
        for key in ["HDF5", "MPI library", "BLAS core", "BLAS threads", "CPU flags"] {
            #expect(r.stdout.contains(key), "env output lacks \(key)")
        }
        let mpiLine = r.stdout.split(separator: "\n").first { $0.hasPrefix("MPI rank/size") }
        #expect(mpiLine?.hasSuffix(" 0/1 (no MPI launcher)") == true, "MPI line: \(String(describing: mpiLine))")
    }

    /// On an AVX-512 CPU the binary must end up on AVX-512 BLAS kernels without user help.
    @Test(.enabled(if: CLITests.hasAVX512, "this CPU has no AVX-512"))
    func avx512KernelsWithoutUserSettings() throws {
        let clean = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/env"),
                                        ["-u", "OPENBLAS_CORETYPE", TestSupport.fairtuneBinary.path, "env", "--no-mpi"])
        #expect(clean.status == 0)
        #expect(clean.stdout.contains("(AVX-512)"), "BLAS core line: \(clean.stdout)")
    }

    /// The restart itself: pretend OpenBLAS chose AVX2 kernels (as on AMD Zen 5); the binary must
    /// re-execute with OPENBLAS_CORETYPE=SkylakeX and then run on AVX-512 kernels.
    @Test(.enabled(if: CLITests.hasAVX512, "this CPU has no AVX-512"))
    func restartsWithSkylakeXWhenOpenBLASPicksAVX2() throws {
        let r = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/env"),
                                    ["-u", "OPENBLAS_CORETYPE", "FAIRTUNE_ASSUME_BLAS_CORE=Haswell",
                                     TestSupport.fairtuneBinary.path, "env", "--no-mpi"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("SkylakeX (set by fairtune)"), "\(r.stdout)")
        #expect(r.stdout.contains("BLAS core          SkylakeX (AVX-512)"), "\(r.stdout)")
    }
}
