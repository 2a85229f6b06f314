import JSON
import Search
import Testing

@Suite struct DistributionTests {
    /// The canonical texts Optuna 5 writes (ecosystem notes, section 1.4), member order aside.
    @Test func journalTextsAreOptunasForms() throws {
        let bit = try JSONValue.parse(Distribution.int(low: 0, high: 1, step: 1, log: false).journalText)
        #expect(bit["name"]?.stringValue == "IntDistribution")
        #expect(bit["attributes"]?["high"]?.intValue == 1)
        #expect(bit["attributes"]?["log"]?.boolValue == false)
        let lr = try JSONValue.parse(Distribution.float(low: 1e-5, high: 1e-3, step: nil, log: true).journalText)
        #expect(lr["attributes"]?["step"]?.isNull == true)
        #expect(lr["attributes"]?["low"]?.doubleValue == 1e-5)
    }

    @Test func containsChecksGridAndRange() {
        let bit = Distribution.int(low: 0, high: 1, step: 1, log: false)
        #expect(bit.contains(0) && bit.contains(1) && !bit.contains(2) && !bit.contains(0.5))
        #expect(Distribution.categorical(choices: ["a", "b"]).contains(1))
        #expect(!Distribution.float(low: 1e-5, high: 1e-3, step: nil, log: true).contains(1e-2))
    }
}
