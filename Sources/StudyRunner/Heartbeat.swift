import Foundation
import Search
import Synchronization

/// Records a running trial's heartbeat every interval on a background thread, through its own
/// `Study` handle (a `Study` is not thread-safe) with the worker's id. Notices when another worker
/// has failed the trial as stale, so the trainer can give it up.
final class Heartbeat: Sendable {
    private let wake = DispatchSemaphore(value: 0)
    private let ended = DispatchSemaphore(value: 0)
    private let lostFlag = Atomic<Bool>(false)

    /// Whether the trial is no longer RUNNING (failed as stale elsewhere).
    var lost: Bool { lostFlag.load(ordering: .relaxed) }

    /// Starts beating for trial `number` of the study at `path`.
    init(path: String, workerID: String, trialNumber: Int, interval: Double, warn: @escaping @Sendable (String) -> Void) {
        let thread = Thread { [self] in
            defer { self.ended.signal() }
            let study: Study
            do { study = try Study(path: path, workerID: workerID) } catch {
                warn("heartbeat: cannot open \(path): \(error)")
                return
            }
            while self.wake.wait(timeout: .now() + interval) == .timedOut {
                do {
                    try study.heartbeat(trialNumber: trialNumber)
                } catch StudyError.trialNotRunning {
                    self.lostFlag.store(true, ordering: .relaxed)
                    return
                } catch {
                    // A passing file-system error: the next beat may succeed before the grace period ends.
                    warn("heartbeat of trial \(trialNumber): \(error)")
                }
            }
        }
        thread.start()
    }

    /// Stops beating and waits for the thread to finish its current beat.
    func stop() {
        wake.signal()
        ended.wait()
    }
}
