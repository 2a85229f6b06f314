import Foundation
import Testing
import Training

@Suite(.serialized) struct StopRequestTests {
    private func waitForSignal() -> Int32? {
        for _ in 0..<200 where !StopRequest.isRequested { usleep(5_000) }
        return StopRequest.signal
    }

    @Test func recordsSIGUSR1AndSIGTERM() {
        StopRequest.install()
        StopRequest.reset()
        #expect(!StopRequest.isRequested)
        // A process-directed signal, as Slurm sends it; any thread that does not block it runs the handler.
        kill(getpid(), SIGUSR1)
        #expect(waitForSignal() == SIGUSR1)
        StopRequest.reset()
        kill(getpid(), SIGTERM)
        #expect(waitForSignal() == SIGTERM && StopRequest.name(of: SIGTERM) == "SIGTERM")
        StopRequest.reset()
    }
}

@Suite struct ProgressReporterTests {
    final class Sink: @unchecked Sendable { var text = "" }

    @Test func plainLinesAtTheIntervalAndAtEpochEnd() {
        let sink = Sink()
        let reporter = ProgressReporter(style: .lines(interval: 3600)) { sink.text += $0 }
        reporter.update(epoch: 1, epochs: 2, step: 1, total: 3, loss: 0.5, imagesPerSecond: 10, secondsLeft: 75)
        reporter.update(epoch: 1, epochs: 2, step: 2, total: 3, loss: 0.4, imagesPerSecond: 10, secondsLeft: 50)
        reporter.update(epoch: 1, epochs: 2, step: 3, total: 3, loss: 0.3, imagesPerSecond: 10, secondsLeft: 3725)
        let lines = sink.text.split(separator: "\n")
        #expect(lines.count == 2, "\(sink.text)")
        #expect(lines[0].contains("epoch 1/2 step 1/3 loss 0.5000 10.0 img/s ETA 1:15"))
        #expect(lines[1].contains("step 3/3 loss 0.3000") && lines[1].hasSuffix("ETA 1:02:05"))
    }

    @Test func barRedrawsInPlace() {
        let sink = Sink()
        let reporter = ProgressReporter(style: .bar) { sink.text += $0 }
        reporter.update(epoch: 1, epochs: 1, step: 1, total: 2, loss: 1, imagesPerSecond: 5, secondsLeft: 1)
        reporter.update(epoch: 1, epochs: 1, step: 2, total: 2, loss: 1, imagesPerSecond: 5, secondsLeft: 0)
        #expect(sink.text.hasPrefix("\repoch 1/1 [############............] 1/2"))
        #expect(sink.text.hasSuffix("\n") && sink.text.filter { $0 == "\r" }.count == 2)
        #expect(ProgressReporter.duration(.nan) == "--:--")
    }
}
