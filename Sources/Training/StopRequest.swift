import Foundation
import Synchronization

/// The signal that asked this process to stop (0 while none has).
private let receivedSignal = Atomic<Int32>(0)
private let installed = Atomic<Bool>(false)

/// A request to stop early and resumably: SIGTERM (what Slurm sends at a time limit or on
/// preemption) or SIGUSR1 (what `sbatch --signal=B:USR1@N` sends ahead of the limit).
///
/// The handler only records the signal; the training loop polls it between steps, finishes the
/// step, checkpoints and exits with `ExitStatus.resumable`.
public enum StopRequest {
    /// Installs the handlers for SIGTERM and SIGUSR1, then lets through any such signal that
    /// arrived while they were deferred. Idempotent. Called first thing by `fairtune train`, so a
    /// stop in the process's first milliseconds is a clean resumable exit, not a kill.
    public static func install() {
        for signalNumber in [SIGTERM, SIGUSR1] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { received in
                // An atomic store is async-signal-safe.
                receivedSignal.store(received, ordering: .relaxed)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signalNumber, &action, nil)
        }
        installed.store(true, ordering: .relaxed)
        changeMask(SIG_UNBLOCK)
    }

    /// Whether `install()` has run in this process image.
    public static var isInstalled: Bool { installed.load(ordering: .relaxed) }

    /// Holds SIGTERM and SIGUSR1 pending while the process replaces itself with `exec` (which
    /// resets handlers but keeps the signal mask); the new image's `install()` receives them.
    public static func deferSignals() { changeMask(SIG_BLOCK) }

    /// Undoes `deferSignals()` (when `exec` failed).
    public static func undeferSignals() { changeMask(SIG_UNBLOCK) }

    private static func changeMask(_ how: Int32) {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGUSR1)
        pthread_sigmask(how, &set, nil)
    }

    /// The signal received, if any.
    public static var signal: Int32? {
        let s = receivedSignal.load(ordering: .relaxed)
        return s == 0 ? nil : s
    }

    /// Whether a stop was requested.
    public static var isRequested: Bool { signal != nil }

    /// A readable name for a signal number.
    public static func name(of signal: Int32) -> String {
        switch signal {
        case SIGTERM: return "SIGTERM"
        case SIGUSR1: return "SIGUSR1"
        case SIGINT: return "SIGINT"
        default: return "signal \(signal)"
        }
    }

    /// Forgets a received signal (for tests).
    public static func reset() { receivedSignal.store(0, ordering: .relaxed) }
}
