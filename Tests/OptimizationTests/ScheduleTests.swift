import Testing
import Optimization
import SafeTensors

struct ScheduleTests {
    /// Every step's rate equals torch's bit for bit: schedules.safetensors has SequentialLR(LinearLR,
    /// ConstantLR/StepLR/CosineAnnealingLR) or the decay alone; schedules_more.safetensors the
    /// constant warmup (ConstantLR) before every decay and the exponential decay (ExponentialLR)
    /// alone or after either warmup.
    @Test(arguments: ["schedules.safetensors", "schedules_more.safetensors"])
    func matchesTorchExactly(_ fileName: String) throws {
        let file = try Fixtures.open(fileName)
        let configs = try #require(Fixtures.json(file, "schedules") as? [[String: Any]])
        #expect(configs.count == 7)
        for config in configs {
            let (name, schedule) = try Self.schedule(config)
            let expected = try file.doubles(name)
            #expect(expected.count == schedule.totalSteps + 1)
            let actual = (0...schedule.totalSteps).map { schedule.learningRate(at: $0) }
            #expect(actual.map(\.bitPattern) == expected.map(\.bitPattern), "\(name): \(actual) vs torch \(expected)")
        }
    }

    /// The schedule a fixture entry describes, with its name.
    static func schedule(_ config: [String: Any]) throws -> (String, LearningRateSchedule) {
        let name = try #require(config["name"] as? String)
        let decay: LearningRateSchedule.Decay
        switch config["decay"] as? String {
        case "constant": decay = .constant
        case "step": decay = .step(size: try #require(config["step_size"] as? Int), gamma: try #require(config["gamma"] as? Double))
        case "exponential": decay = .exponential(gamma: try #require(config["gamma"] as? Double))
        default: decay = .cosine(minimum: try #require(config["minimum"] as? Double))
        }
        let warmupSteps = try #require(config["warmup"] as? Int)
        let kind = try #require(LearningRateSchedule.Warmup.Kind(rawValue: config["warmup_method"] as? String ?? "linear"))
        let warmup = warmupSteps > 0
            ? LearningRateSchedule.Warmup(steps: warmupSteps, startFactor: try #require(config["start_factor"] as? Double), kind: kind)
            : nil
        return (name, try LearningRateSchedule(baseLearningRate: try #require(config["base"] as? Double), decay: decay,
                                               warmup: warmup, totalSteps: try #require(config["total"] as? Int)))
    }

    @Test func invalidSchedulesAreTypedErrors() {
        #expect(throws: OptimizationError.self) {
            try LearningRateSchedule(baseLearningRate: 1e-3, decay: .cosine(minimum: 0), warmup: .init(steps: 10, startFactor: 0.1), totalSteps: 10)
        }
        #expect(throws: OptimizationError.self) {
            try LearningRateSchedule(baseLearningRate: 1e-3, decay: .constant, warmup: .init(steps: 2, startFactor: 0), totalSteps: 10)
        }
        #expect(throws: OptimizationError.self) {
            try LearningRateSchedule(baseLearningRate: 1e-3, decay: .step(size: 0, gamma: 0.5), totalSteps: 10)
        }
        #expect(throws: OptimizationError.self) {
            try LearningRateSchedule(baseLearningRate: 0, decay: .constant, totalSteps: 10)
        }
        #expect(throws: OptimizationError.invalidHyperparameter(name: "exponential gamma", value: 0, expected: "a finite value > 0")) {
            try LearningRateSchedule(baseLearningRate: 1e-3, decay: .exponential(gamma: 0), totalSteps: 10)
        }
        #expect(throws: OptimizationError.self) {
            try LearningRateSchedule(baseLearningRate: 1e-3, decay: .exponential(gamma: 0.9),
                                     warmup: .init(steps: 2, startFactor: 1.5, kind: .constant), totalSteps: 10)
        }
    }
}
