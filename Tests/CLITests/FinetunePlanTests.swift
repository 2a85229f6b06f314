import Foundation
import TestSupport
import Testing
@testable import fairtune

/// The pieces of `fairtune finetune` and `fairtune report` that need no training.
@Suite struct FinetunePlanTests {
    private func plan(seeds: [Int] = [1, 2], lrs: String = "fullft=1e-4:1e-3,linear=1e-2") throws -> FinetunePlan {
        let fairtune = FinetunePlan.Method(name: "fairtune", tuning: "block-parts3", mask: "101", rates: ["0.001"], trial: 4)
        return FinetunePlan(out: "out", seeds: seeds, methods: [fairtune] + (try FinetunePlan.parseBaselines("fullft,linear", rates: lrs)))
    }

    @Test func runsAreListedInOrderWithTheGridFirst() throws {
        let p = try plan()
        #expect(p.runs.map(\.label) == ["fairtune:1", "fairtune:2", "fullft:lr-1e-4", "fullft:lr-1e-3", "fullft:2", "linear:1", "linear:2"])
        #expect(p.directory(of: try p.run(labelled: "fullft:lr-1e-3")) == "out/fullft/lr-1e-3")
        #expect(p.directory(of: try p.run(labelled: "linear:2")) == "out/linear/seed-2")
        #expect(try p.run(labelled: "fullft:2").rate == nil)  // chosen by the grid
        #expect(p.methods.map(\.tuning) == ["block-parts3", "full", "head"])
        #expect(throws: (any Error).self) { try p.run(labelled: "fullft:1") }
        #expect(throws: (any Error).self) { try p.run(labelled: "fairtune:3") }
    }

    @Test func optionsAreChecked() throws {
        #expect(try FinetunePlan.parseSeeds("1, 2,3") == [1, 2, 3])
        for bad in ["", "1,1", "-1", "a"] {
            #expect(throws: (any Error).self) { try FinetunePlan.parseSeeds(bad) }
        }
        #expect(try FinetunePlan.parseBaselines("none", rates: "").isEmpty)
        #expect(try FinetunePlan.parseBaselines("linear", rates: "linear=3e-2").map(\.rates) == [["3e-2"]])
        for (names, rates) in [("lora", "fullft=1e-3"), ("fullft", "linear=1e-2"), ("fullft", "fullft=0"), ("fullft", "fullft=1e-3:1e-3"),
                               ("fullft", "fullft")] {
            #expect(throws: (any Error).self, "\(names) \(rates)") { try FinetunePlan.parseBaselines(names, rates: rates) }
        }
    }

    @Test func gridChoosesTheBestValidationAUCAndLinksTheFirstSeed() throws {
        let root = TestSupport.temporaryPath("finetune-plan").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let p = FinetunePlan(out: root, seeds: [5, 6], methods: try plan().methods)
        let fullft = p.methods[1]
        #expect(try p.chosenRate(fullft) == nil)  // no grid run yet
        for (rate, auc) in [("1e-4", 0.7), ("1e-3", 0.75)] {
            let directory = p.gridDirectory("fullft", rate: rate)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try #"{"status": "completed", "val": {"overall": {"auc": {"value": \#(auc)}}}}"#
                .write(toFile: directory + "/result.json", atomically: true, encoding: .utf8)
        }
        #expect(try p.chosenRate(fullft) == "1e-3")
        try p.linkFirstSeed(fullft, rate: "1e-3")
        try p.linkFirstSeed(fullft, rate: "1e-3")  // again: already there
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/fullft/seed-5") == "lr-1e-3")
    }

    @Test func storedArgumentsLoseTheMaskForBaselines() {
        let stored = ["--data", "d", "--mask", "0101", "--tuning", "block-parts3", "--mask=11"]
        #expect(TrainOptions.arguments(stored, removing: ["mask"]) == ["--data", "d", "--tuning", "block-parts3"])
        #expect(StudySetup.optionValues("tuning", in: stored + ["--tuning=head"]) == ["block-parts3", "head"])
    }

    @Test func intervalsAndVerdicts() {
        let s = FinetuneSummary.stat(seedValues: [0.7, 0.8, 0.9], resampled: [0.1, nil, 0.3, 0.2, 0.5, 0.4], confidence: 0.5)
        #expect(abs(s.mean! - 0.8) < 1e-15 && abs(s.std! - 0.1) < 1e-15)
        #expect(s.definedResamples == 5 && s.lower == 0.2 && s.upper == 0.4)  // numpy percentile 25 / 75
        #expect(FinetuneSummary.stat(seedValues: [0.7, nil], resampled: [], confidence: 0.95).mean == nil)
        func difference(_ lower: Double, _ upper: Double) -> FinetuneSummary.Difference {
            .init(baseline: "fullft", metric: "auc", estimate: 0, interval: .init(lower: lower, upper: upper, definedResamples: 9))
        }
        #expect(FinetuneSummary.verdict(difference(0.01, 0.2), confidence: 0.95) == "the 95% interval excludes zero (FairTune higher)")
        #expect(FinetuneSummary.verdict(difference(-0.2, -0.01), confidence: 0.95) == "the 95% interval excludes zero (FairTune lower)")
        #expect(FinetuneSummary.verdict(difference(-0.1, 0.1), confidence: 0.9) == "the 90% interval includes zero")
    }

    @Test func paretoFrontAndMaskGrid() {
        let points = [(x: 0.1, y: 0.7), (x: 0.2, y: 0.8), (x: 0.15, y: 0.65), (x: 0.1, y: 0.7), (x: 0.3, y: 0.8)]
        #expect(ReportPlots.paretoFront(points).map { [$0.x, $0.y] } == [[0.1, 0.7], [0.1, 0.7], [0.2, 0.8]])
        let grid = ReportPlots.maskGrid([1, 0, 1, 0, 0, 1], tuning: .parts3)
        #expect(grid.rows == ["block 0", "block 1"] && grid.columns == ["norms", "attention", "MLP"])
        #expect(grid.values == [[1, 0, 1], [0, 0, 1]])
        #expect(ReportPlots.maskGrid([1, 0], tuning: .head).rows == ["mask"])
        #expect(csvQuote("a,b\"c") == "\"a,b\"\"c\"")
    }
}
