import Foundation
import Synchronization

/// The signal that asked this process to stop (0 while none has).
private let receivedSignal = Atomic<Int32>(0)

/// A request to stop early and resumably: SIGTERM (what Slurm sends at a time limit or on
/// preemption) or SIGUSR1 (what `sbatch --signal=B:USR1@N` sends ahead of the limit).
///
/// The handler only records the signal; the training loop polls it between steps, finishes the
/// step, checkpoints and exits with `ExitStatus.resumable`.
public enum StopRequest {
    /// Installs the handlers for SIGTERM and SIGUSR1. Idempotent.
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
