import Arguments
import Foundation
import Tensor
import Training

/// The version printed by `fairtune --version` and recorded in run files.
let fairtuneVersion = "0.1.0"

/// Exit statuses of `fairtune`, documented in the README.
enum ExitStatus {
    static let success: Int32 = 0
    /// Bad input or a failed operation; the message says which file and field.
    static let failure: Int32 = 1
    /// The command line itself is wrong (unknown option, missing value).
    static let usage: Int32 = 2
    /// Training stopped because the loss or gradients became NaN or infinite (a failed trial).
    static let diverged: Int32 = 3
    /// Training stopped on SIGTERM/SIGUSR1 after checkpointing; rerun to resume (EX_TEMPFAIL).
    static let resumable: Int32 = 75
}

/// Writes `text` and a newline to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Resolves and runs a command; turns errors into a message and an exit status.
func runCommand(_ root: Command, _ arguments: [String]) -> Int32 {
    do {
        let (command, parsed) = try root.resolve(arguments)
        return try command.run!(parsed)
    } catch let error as ArgumentError {
        if case let .helpRequested(name) = error, let command = root.find(name) {
            print(command.run == nil ? command.groupHelp : command.spec.help)
            return ExitStatus.success
        }
        let name = commandName(of: error)
        if case .missingArgument(_, "<command>") = error, let group = root.find(name) {
            printError(group.groupHelp)
            return ExitStatus.usage
        }
        printError("error: \(error)")
        printError("Run '\(name) --help' for usage.")
        return ExitStatus.usage
    } catch {
        printError("error: \(error)")
        return ExitStatus.failure
    }
}

private func commandName(of error: ArgumentError) -> String {
    switch error {
    case let .unknownOption(c, _), let .missingValue(c, _), let .unexpectedValue(c, _), let .missingRequired(c, _),
         let .repeated(c, _), let .invalidValue(c, _, _, _), let .unexpectedArgument(c, _),
         let .missingArgument(c, _), let .unknownCommand(c, _, _), let .helpRequested(c):
        return c
    }
}

/// Re-executes this program with `OPENBLAS_CORETYPE=SkylakeX` when the CPU has AVX-512 but
/// OpenBLAS chose AVX2 kernels (see `BLASRuntime.coreTypeOverride`). Carries on if exec fails.
///
/// `FAIRTUNE_ASSUME_BLAS_CORE` stands in for OpenBLAS's choice, so tests can drive the restart on
/// a CPU where OpenBLAS already picks AVX-512 kernels.
func restartWithFastBLASIfNeeded() {
    let environment = ProcessInfo.processInfo.environment
    let chosen = environment["FAIRTUNE_ASSUME_BLAS_CORE"] ?? BLASRuntime.coreName
    guard let core = BLASRuntime.coreTypeOverride(environment: environment, cpuFlags: CPUInfo.current().flags,
                                                  coreName: chosen) else { return }
    // exec forgets a stop already received and resets the handlers: keep a received stop by not
    // restarting, and hold one arriving meanwhile pending for the new image's handlers.
    let deferring = StopRequest.isInstalled
    if deferring {
        StopRequest.deferSignals()
        if StopRequest.isRequested {
            StopRequest.undeferSignals()
            return
        }
    }
    setenv("OPENBLAS_CORETYPE", core, 1)
    setenv("FAIRTUNE_SET_CORETYPE", "1", 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
    // exec failed: keep running on the slower kernels; `fairtune env` shows the core in use.
    if deferring { StopRequest.undeferSignals() }
    unsetenv("FAIRTUNE_SET_CORETYPE")
    unsetenv("OPENBLAS_CORETYPE")
}
