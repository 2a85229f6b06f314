@testable import fairtune
import Testing

/// A study's stored `fairtune train` arguments with a trial's own values put in.
@Suite struct TrainOptionsTests {
    @Test func replacingDropsEveryFormOfTheOptionAndAppendsIt() {
        let stored = ["--data", "d", "--lr=0.1", "--mask", "0101", "--test", "--attribute", "sex", "--lr", "0.2"]
        let arguments = TrainOptions.arguments(stored, replacing: [("lr", "0.003"), ("mask", "1111"), ("test", nil), ("out", "trials/3")])
        #expect(arguments == ["--data", "d", "--attribute", "sex", "--lr", "0.003", "--mask", "1111", "--test", "--out", "trials/3"])
    }
}
