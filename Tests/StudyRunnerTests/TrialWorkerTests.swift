import Distributed
import Foundation
import JSON
import Metrics
import Search
import StudyRunner
import Testing
import TestSupport
import Training

/// The study worker on ranks that are threads (`InProcessGroup`): rank 0's journal and broadcast,
/// every rank training each trial, the results recorded (the release binary under mpirun runs the
/// same in Tests/python/test_study_work.py).
@Suite(.serialized) struct TrialWorkerTests {
    /// The tiny ViT has depth 2; block-parts4 takes 4 bits per block.
    let configuration = StudyConfiguration(
        version: "test", trainArguments: ["--stored"], objectives: [.overallAUC], objectiveAttribute: "sex", sampler: .random,
        startupTrials: 10, pruner: .none, seed: 4, lrRange: (1e-3, 1e-1), tuning: "block-parts4", maskLength: 8)

    func settings(arguments: [String], assignment: TrialAssignment, out: String) -> TrainingSettings {
        TrainingSettings(
            dataDirectory: TestSupport.fixtures("data/tiny").path,
            weightsPath: TestSupport.fixtures("vit/tiny_weights.safetensors").path, attributes: ["sex", "age_binary"],
            method: .parts4, mask: assignment.mask, loraRank: 0, loraAlpha: nil, learningRate: Double(assignment.learningRate)!,
            epochs: 2, globalBatchSize: 8, optimizer: .sgd, momentum: 0.9, nesterov: false, weightDecay: 0,
            decayNormsAndBiases: true, schedule: .constant, stepSize: 1, gamma: 0.5, warmupEpochs: 0, warmupStartFactor: 0.1,
            warmupMethod: .linear, minimumLearningRate: 0, labelSmoothing: 0, clipGradNorm: 1, classWeights: .none, seed: 3,
            imageSize: nil, heads: nil, evaluateTest: false, keepBest: nil, checkpointEvery: 0, threads: 1, workers: 1,
            logInterval: 1000, outDirectory: out, resume: false)
    }

    func createStudy(in directory: String, trials: Int) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/study.log"
        try Study.create(path: path, name: "ranks", directions: configuration.directions,
                         settings: StudySettings(finishedTrialsWanted: trials, heartbeatInterval: 0.2, gracePeriod: 60,
                                                 searchSpace: configuration.searchSpace),
                         userAttributes: configuration.userAttributes, workerID: "test")
        return path
    }

    @Test func twoRanksRunTheStudyThatRankZeroHandsOut() throws {
        let directory = TestSupport.temporaryPath("worker").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try createStudy(in: directory, trials: 2)
        final class Seen: @unchecked Sendable {
            let lock = NSLock()
            var byRank: [Int: [String]] = [:]
        }
        let seen = Seen()
        let endings = try InProcessGroup(size: 2).run { world in
            let worker = TrialWorker(
                options: WorkerOptions(studyPath: path, workerID: "w0", pollSeconds: 0.05), world: world, version: "test",
                makeSettings: { arguments, assignment, out in
                    seen.lock.withLock { seen.byRank[world.rank, default: []].append("\(arguments) \(assignment.mask ?? "") \(assignment.learningRate) \(out)") }
                    return settings(arguments: arguments, assignment: assignment, out: out)
                }, say: { _ in }, warn: { _ in }, stopRequested: { false })
            return try worker.run()
        }
        #expect(endings.allSatisfy { if case .finished = $0 { true } else { false } })
        // Rank 0 first checks that it can build the study's settings (into trials/check, never created); then every
        // rank trains the same trials with rank 0's parameters and the study's stored arguments.
        let trained = seen.byRank[0]?.filter { !$0.hasSuffix("/trials/check") }
        #expect(seen.byRank[0]?.count == 3 && trained?.count == 2 && trained == seen.byRank[1])
        #expect(seen.byRank[0]?.allSatisfy { $0.hasPrefix("[\"--stored\"]") } == true)
        #expect(!FileManager.default.fileExists(atPath: directory + "/trials/check"))

        let study = try Study(path: path, workerID: "reader")
        #expect(study.trials.map(\.state) == [.complete, .complete])
        for trial in study.trials {
            let assignment = try TrialAssignment(trial: trial, configuration: configuration)
            #expect(trial.userAttribute(StudyAttributeKey.runDirectory)?.stringValue == "trials/\(trial.number)")
            #expect(trial.userAttribute(StudyAttributeKey.mask)?.stringValue == assignment.mask)
            #expect(trial.intermediateValues.keys.sorted() == [1, 2])
            // The recorded value is the run's last validation AUC, as result.json has it.
            let result = try #require(try RunFiles.readObject(directory + "/trials/\(trial.number)/result.json"))
            let auc = try #require(result["val"]?["overall"]?["auc"]?["value"]?.doubleValue)
            #expect(trial.values == [auc])
            #expect(trial.userAttribute(StudyAttributeKey.validationAUC)?.doubleValue == auc)
            #expect(trial.userAttribute(StudyAttributeKey.trainableParameters) == result["trainable_parameters"])
            #expect(trial.userAttribute(StudyAttributeKey.validationGroupAUC)?["sex"]?["F"] != nil)
        }
    }

    @Test func theConfigurationReadsBackFromTheStudy() throws {
        let directory = TestSupport.temporaryPath("config").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let study = try Study(path: try createStudy(in: directory, trials: 1), workerID: "reader")
        let read = try StudyConfiguration(study: study)
        #expect(read.userAttributes.map { $0.value } == configuration.userAttributes.map { $0.value })
        #expect(read.searchSpace.map(\.name) == (0..<8).map { "Mask Idx \($0)" } + ["lr"])
    }
}

/// FairTune's objectives on a report computed from hand-made predictions.
struct SearchObjectiveTests {
    func report(scores: [Double], labels: [Int], groups: [Int]) throws -> MetricsReport {
        let predictions = try Predictions.binary(scores: scores, kind: .probabilities, labels: labels)
        let attribute = try SensitiveAttribute(name: "sex", groupNames: ["F", "M"], codes: groups)
        return try MetricsEvaluator(predictions: predictions, attributes: [attribute]).evaluate()
    }

    @Test func objectivesMapOntoTheReport() throws {
        // Group F: perfectly ranked (AUC 1), accuracy 4/4; group M: AUC 0.5, accuracy 2/4.
        let r = try report(scores: [0.9, 0.2, 0.4, 0.6, 0.7, 0.3, 0.7, 0.3], labels: [1, 0, 0, 1, 1, 0, 0, 1],
                           groups: [0, 0, 0, 0, 1, 1, 1, 1])
        #expect(try SearchObjective.minAUC.value(in: r, attribute: "sex") == .value(0.5))
        #expect(try SearchObjective.aucDifference.value(in: r, attribute: "sex") == .value(0.5))
        #expect(try SearchObjective.minAccuracy.value(in: r, attribute: "sex") == r.attribute("sex").groups[1].accuracy)
        #expect(try SearchObjective.accuracyDifference.value(in: r, attribute: "sex").doubleValue == 0.5)
        #expect(try SearchObjective.overallAUC.value(in: r, attribute: "sex") == r.overall.auc)
        #expect(try SearchObjective.maxLoss.value(in: r, attribute: "sex") == r.attribute("sex").maxGroupLoss)
        #expect(SearchObjective.minAUC.direction == .maximize && SearchObjective.maxLoss.direction == .minimize)
    }

    @Test func aGroupWithOneClassLeavesGroupAUCUndefined() throws {
        let r = try report(scores: [0.9, 0.2, 0.4, 0.6], labels: [1, 0, 1, 1], groups: [0, 0, 1, 1])
        let value = try SearchObjective.minAUC.value(in: r, attribute: "sex")
        #expect(value.doubleValue == nil && "\(value)".contains("'M'"))
        #expect(try SearchObjective.overallAUC.value(in: r, attribute: "sex").doubleValue != nil)
    }

    @Test func objectiveListsParse() throws {
        #expect(try SearchObjective.parseList("overall_auc,auc_diff") == [.overallAUC, .aucDifference])
        #expect(throws: StudyRunnerError.self) { try SearchObjective.parseList("min_auc,min_auc") }
        #expect(throws: StudyRunnerError.self) { try SearchObjective.parseList("best") }
    }
}
