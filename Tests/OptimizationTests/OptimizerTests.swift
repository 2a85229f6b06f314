import Foundation
import Optimization
import SafeTensors
import TestSupport
import Testing

/// One optimizer configuration of a fixture file, as torch ran it.
struct OptimizerCase: Sendable, CustomTestStringConvertible {
    let name: String
    /// The fixture file holding it (each file has its own parameters and gradients).
    let file: String
    var testDescription: String { name }

    static let all = ["sgd_momentum", "sgd_nesterov", "sgd_plain", "adamw", "adamw_short_memory"]
        .map { OptimizerCase(name: $0, file: "optimizers.safetensors") }
        + ["rmsprop_plain", "rmsprop_no_decay", "rmsprop_momentum", "rmsprop_centered", "rmsprop_centered_momentum"]
        .map { OptimizerCase(name: $0, file: "rmsprop.safetensors") }
}

/// The fixture's settings for one configuration, and an optimizer built from them.
struct OptimizerSetup {
    let optimizer: any Optimizer
    let bufferNames: [String]
    let weightDecay: Double
    let learningRates: [Float]

    init(_ name: String, file: SafeTensorsFile) throws {
        let configs = try #require(Fixtures.json(file, "configs") as? [[String: Any]])
        let config = try #require(configs.first { $0["name"] as? String == name })
        weightDecay = try #require(config["weight_decay"] as? Double)
        learningRates = try #require(config["lr"] as? [Double]).map { Float($0) }
        switch config["optimizer"] as? String {
        case "SGD":
            let momentum = try #require(config["momentum"] as? Double)
            optimizer = try SGD(momentum: momentum, dampening: try #require(config["dampening"] as? Double),
                                nesterov: try #require(config["nesterov"] as? Bool))
            bufferNames = momentum != 0 ? ["momentum_buffer"] : []
        case "RMSprop":
            let momentum = try #require(config["momentum"] as? Double)
            let centered = try #require(config["centered"] as? Bool)
            optimizer = try RMSprop(alpha: try #require(config["alpha"] as? Double), epsilon: try #require(config["eps"] as? Double),
                                    momentum: momentum, centered: centered)
            bufferNames = ["square_avg"] + (momentum > 0 ? ["momentum_buffer"] : []) + (centered ? ["grad_avg"] : [])
        default:
            let betas = try #require(config["betas"] as? [Double])
            optimizer = try AdamW(beta1: betas[0], beta2: betas[1], epsilon: try #require(config["eps"] as? Double))
            bufferNames = ["exp_avg", "exp_avg_sq"]
        }
    }
}

/// A fixture file's model: its layout, initial parameters and the gradient of each step.
struct OptimizerFixture {
    let file: SafeTensorsFile
    let layout: [LayoutEntry]
    let initial: [Float]
    let gradients: [[Float]]

    init(_ name: String) throws {
        let file = try Fixtures.open(name)
        self.file = file
        layout = try LayoutEntry.read(file)
        initial = try file.floats("initial")
        gradients = try (0..<5).map { try file.floats("grad.\($0)") }
    }

    /// Runs `steps` (a range of step indices) of `optimizer` on `parameters`.
    func run(_ setup: OptimizerSetup, optimizer: any Optimizer, steps: Range<Int>, parameters: inout [Float]) {
        let groups = LayoutEntry.groups(layout, weightDecay: setup.weightDecay)
        for k in steps {
            parameters.withUnsafeMutableBufferPointer { p in
                gradients[k].withUnsafeBufferPointer { g in
                    optimizer.step(parameters: p, gradients: g, groups: groups, learningRate: setup.learningRates[k])
                }
            }
        }
    }
}

struct OptimizerTests {
    /// Parameters after 1 and 5 steps, and the state after 5, match torch within 1e-6 relative;
    /// frozen parameters are untouched and have no state.
    @Test(arguments: OptimizerCase.all)
    func matchesTorch(_ testCase: OptimizerCase) throws {
        let fixture = try OptimizerFixture(testCase.file)
        let file = fixture.file, layout = fixture.layout, initial = fixture.initial
        let setup = try OptimizerSetup(testCase.name, file: file)
        var parameters = initial
        fixture.run(setup, optimizer: setup.optimizer, steps: 0..<1, parameters: &parameters)
        let afterOne = maxRelativeDifference(parameters, try file.floats("\(testCase.name).after1"))
        #expect(afterOne <= 1e-6, "after 1 step: worst relative difference \(afterOne)")
        fixture.run(setup, optimizer: setup.optimizer, steps: 1..<5, parameters: &parameters)
        let afterFive = maxRelativeDifference(parameters, try file.floats("\(testCase.name).after5"))
        #expect(afterFive <= 1e-6, "after 5 steps: worst relative difference \(afterFive)")

        for entry in layout where !entry.trainable {
            #expect(parameters[entry.range] == initial[entry.range], "frozen \(entry.name) changed")
        }
        let state = setup.optimizer.exportState()
        #expect(state.slots.map(\.offset) == layout.filter(\.trainable).map(\.offset))
        #expect(state.slots.allSatisfy { $0.step == 5 })
        #expect(state.slots.allSatisfy { Set($0.buffers.keys) == Set(setup.bufferNames) })
        for buffer in setup.bufferNames {
            let expected = try file.floats("\(testCase.name).state.\(buffer)")
            for slot in state.slots {
                let values = try #require(slot.buffers[buffer])
                let reference = Array(expected[slot.offset..<(slot.offset + slot.count)])
                // RMSprop's momentum buffer sums g/d over the steps with both signs, and torch's square
                // root (MKL's) is within an ulp, not correctly rounded: an ulp of a term is a large
                // relative change of a sum near zero, so that buffer is compared at its own scale.
                let difference = setup.optimizer is RMSprop && buffer == "momentum_buffer"
                    ? maxScaledDifference(values, reference) : maxRelativeDifference(values, reference)
                #expect(difference <= 1e-6, "\(buffer) at \(slot.offset): worst difference \(difference)")
            }
        }
    }

    /// Stopping after 2 steps, saving the state through a safetensors file and resuming in a new
    /// optimizer gives the same bits as running 5 steps without a break.
    @Test(arguments: OptimizerCase.all)
    func resumeIsBitIdentical(_ testCase: OptimizerCase) throws {
        let fixture = try OptimizerFixture(testCase.file)
        let uninterrupted = try OptimizerSetup(testCase.name, file: fixture.file)
        var expected = fixture.initial
        fixture.run(uninterrupted, optimizer: uninterrupted.optimizer, steps: 0..<5, parameters: &expected)

        let first = try OptimizerSetup(testCase.name, file: fixture.file)
        var parameters = fixture.initial
        fixture.run(first, optimizer: first.optimizer, steps: 0..<2, parameters: &parameters)
        let saved = try roundTripThroughFile(first.optimizer.exportState())

        let second = try OptimizerSetup(testCase.name, file: fixture.file)
        try second.optimizer.restoreState(saved)
        #expect(second.optimizer.exportState() == first.optimizer.exportState())
        fixture.run(second, optimizer: second.optimizer, steps: 2..<5, parameters: &parameters)
        #expect(parameters.map(\.bitPattern) == expected.map(\.bitPattern))
    }

    /// Writes the state as tensors `<offset>.<buffer>` and `<offset>.step`, reads it back.
    func roundTripThroughFile(_ state: OptimizerState) throws -> OptimizerState {
        var writer = SafeTensorsWriter(metadata: ["optimizer": state.optimizer])
        for slot in state.slots {
            writer.add("\(slot.offset).step", shape: [2], int64s: [Int64(slot.count), Int64(slot.step)])
            for (name, values) in slot.buffers { writer.add("\(slot.offset).\(name)", shape: [slot.count], floats: values) }
        }
        let folder = TestSupport.temporaryPath("OptimizationTests")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("state.safetensors").path
        try writer.write(to: path)

        let file = try SafeTensorsFile(path: path)
        var slots: [OptimizerState.Slot] = []
        for tensor in file.tensors where tensor.name.hasSuffix(".step") {
            let offset = try #require(Int(tensor.name.dropLast(5)))
            let countAndStep = try file.int64s(tensor.name)
            var buffers: [String: [Float]] = [:]
            for other in file.tensors where other.name.hasPrefix("\(offset).") && other.name != tensor.name {
                buffers[String(other.name.dropFirst("\(offset).".count))] = try file.floats(other.name)
            }
            slots.append(.init(offset: offset, count: Int(countAndStep[0]), step: Int(countAndStep[1]), buffers: buffers))
        }
        return OptimizerState(optimizer: try #require(file.metadata["optimizer"]), slots: slots.sorted { $0.offset < $1.offset })
    }

    @Test func stateOfAnotherOptimizerOrShapeIsRejected() throws {
        let fixture = try OptimizerFixture("optimizers.safetensors")
        let layout = fixture.layout, gradients = fixture.gradients
        let adam = try AdamW()
        var parameters = fixture.initial
        let groups = LayoutEntry.groups(layout, weightDecay: 0.1)
        parameters.withUnsafeMutableBufferPointer { p in
            gradients[0].withUnsafeBufferPointer { adam.step(parameters: p, gradients: $0, groups: groups, learningRate: 1e-3) }
        }
        var state = adam.exportState()
        let sgd = try SGD(momentum: 0.9)
        #expect(throws: OptimizationError.stateMismatch(reason: "it was written by AdamW, this is SGD")) {
            try sgd.restoreState(state)
        }
        state.slots[0].buffers["exp_avg"]!.removeLast()
        #expect {
            try AdamW().restoreState(state)
        } throws: { error in
            guard case let .stateMismatch(reason)? = error as? OptimizationError else { return false }
            return reason.contains("exp_avg") && reason.contains("\(state.slots[0].count - 1) values")
        }
    }

    /// RMSprop's buffers depend on its settings: a state with a momentum buffer does not fit an
    /// RMSprop without momentum, nor a plain state a centered one.
    @Test func rmspropStateOfOtherSettingsIsRejected() throws {
        let fixture = try OptimizerFixture("rmsprop.safetensors")
        let withMomentum = try RMSprop(momentum: 0.9)
        var parameters = fixture.initial
        let groups = LayoutEntry.groups(fixture.layout, weightDecay: 0)
        parameters.withUnsafeMutableBufferPointer { p in
            fixture.gradients[0].withUnsafeBufferPointer {
                withMomentum.step(parameters: p, gradients: $0, groups: groups, learningRate: 1e-3)
            }
        }
        let state = withMomentum.exportState()
        #expect(state.optimizer == "RMSprop")
        for other in [try RMSprop(), try RMSprop(momentum: 0.9, centered: true)] {
            #expect {
                try other.restoreState(state)
            } throws: { error in
                guard case let .stateMismatch(reason)? = error as? OptimizationError else { return false }
                return reason.contains("momentum_buffer") && reason.contains("square_avg")
            }
        }
        #expect(throws: OptimizationError.stateMismatch(reason: "it was written by RMSprop, this is AdamW")) {
            try AdamW().restoreState(state)
        }
    }

    @Test func invalidSettingsAreTypedErrors() {
        #expect(throws: OptimizationError.invalidHyperparameter(name: "beta2", value: 1, expected: "a value in [0, 1)")) {
            try AdamW(beta2: 1)
        }
        #expect(throws: OptimizationError.self) { try SGD(momentum: -0.1) }
        #expect(throws: OptimizationError.self) { try SGD(momentum: 0, nesterov: true) }
        #expect(throws: OptimizationError.self) { try SGD(momentum: 0.9, dampening: 0.1, nesterov: true) }
        #expect(throws: OptimizationError.invalidHyperparameter(name: "alpha", value: -0.5, expected: "a finite value >= 0")) {
            try RMSprop(alpha: -0.5)
        }
        #expect(throws: OptimizationError.self) { try RMSprop(epsilon: -1e-8) }
        #expect(throws: OptimizationError.self) { try RMSprop(momentum: .infinity) }
    }
}
