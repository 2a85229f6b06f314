import Foundation

/// Training progress for people: a redrawn bar with loss, images/s and ETA on a terminal; plain,
/// timestamped lines at a fixed interval otherwise (Slurm logs). Only rank 0 should own one.
public final class ProgressReporter {
    public enum Style: Sendable {
        /// A single line redrawn in place.
        case bar
        /// A full line every `interval` seconds, and one at the end of each epoch.
        case lines(interval: Double)
    }

    public let style: Style
    private let write: (String) -> Void
    private var lastLine = Date.distantPast
    private let start = Date()

    /// - Parameters:
    ///   - style: `.bar` when standard output is a terminal, else `.lines(interval:)`.
    ///   - write: where text goes (standard output by default).
    public init(style: Style, write: @escaping (String) -> Void = { text in
        FileHandle.standardOutput.write(Data(text.utf8))
    }) {
        self.style = style
        self.write = write
    }

    /// The style that suits standard output: a bar on a terminal, lines every 30 s otherwise.
    /// Under an MPI launcher the ranks' output is a pseudo-terminal even when mpirun writes to a
    /// file, so a redrawn bar would fill the log with escape codes: lines there.
    public static func styleForStandardOutput(interval: Double = 30,
                                              environment: [String: String] = ProcessInfo.processInfo.environment) -> Style {
        let launched = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_STEP_ID"].contains { environment[$0] != nil }
        return isatty(STDOUT_FILENO) == 1 && !launched ? .bar : .lines(interval: interval)
    }

    /// Reports step `step` of `total` (1-based) in `epoch`.
    public func update(epoch: Int, epochs: Int, step: Int, total: Int, loss: Double, imagesPerSecond: Double,
                       secondsLeft: Double) {
        let eta = Self.duration(secondsLeft)
        switch style {
        case .bar:
            let width = 24
            let filled = total > 0 ? min(width, width * step / total) : width
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            write(String(format: "\repoch %d/%d [%@] %d/%d loss %.4f %.1f img/s ETA %@\u{1B}[K",
                         epoch, epochs, bar, step, total, loss, imagesPerSecond, eta))
            if step == total { write("\n") }
        case let .lines(interval):
            let now = Date()
            guard step == total || now.timeIntervalSince(lastLine) >= interval else { return }
            lastLine = now
            write(String(format: "[%@] epoch %d/%d step %d/%d loss %.4f %.1f img/s ETA %@\n",
                         Self.duration(now.timeIntervalSince(start)), epoch, epochs, step, total, loss,
                         imagesPerSecond, eta))
        }
    }

    /// Prints a message on its own line (ending any bar in progress).
    public func message(_ text: String) {
        write(text + "\n")
    }

    /// `h:mm:ss` (or `m:ss` under an hour).
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                         : String(format: "%d:%02d", s / 60, s % 60)
    }
}
