import Testing
import Optimization
import SafeTensors

struct GradientClippingTests {
    let file: SafeTensorsFile
    let layout: [LayoutEntry]
    let groups: [ParameterGroup]

    init() throws {
        file = try Fixtures.open("clip_grad_norm.safetensors")
        layout = try LayoutEntry.read(try Fixtures.open("optimizers.safetensors"))
        groups = LayoutEntry.groups(layout, weightDecay: 0)
    }

    /// Total norm and clipped gradients equal torch.nn.utils.clip_grad_norm_ to 1e-6 relative,
    /// both when clipping applies and when it does not; the frozen range is untouched.
    @Test(arguments: ["clipped", "unclipped"])
    func matchesTorch(_ name: String) throws {
        let cases = try #require(Fixtures.json(file, "cases") as? [String: Double])
        let maxNorm = try #require(cases[name])
        let original = try file.floats("grads")
        var gradients = original
        let total = gradients.withUnsafeMutableBufferPointer {
            GradientClipping.clipByTotalNorm($0, groups: groups, maxNorm: maxNorm)
        }
        let expectedTotal = try file.floats("\(name).total_norm")[0]
        #expect(maxRelativeDifference([total], [expectedTotal]) <= 1e-6, "total norm \(total) vs torch \(expectedTotal)")
        let difference = maxRelativeDifference(gradients, try file.floats("\(name).clipped"))
        #expect(difference <= 1e-6, "clipped gradients: worst relative difference \(difference)")
        for entry in layout where !entry.trainable {
            #expect(gradients[entry.range] == original[entry.range])
        }
    }

    /// A NaN inside a trainable range is reported with its index; an infinity in a frozen range
    /// is ignored.
    @Test func nonFiniteGradientIsFoundInTrainableRangesOnly() throws {
        var gradients = try file.floats("grads")
        let frozen = try #require(layout.first { !$0.trainable })
        let trainable = try #require(layout.last { $0.trainable })
        gradients[frozen.offset + 1] = .infinity
        try gradients.withUnsafeBufferPointer { try GradientClipping.requireFinite($0, groups: groups) }

        let bad = trainable.offset + 3
        gradients[bad] = .nan
        gradients.withUnsafeBufferPointer { g in
            #expect(GradientClipping.totalNorm(g, groups: groups).isNaN)
            #expect(GradientClipping.firstNonFinite(g, groups: groups)?.index == bad)
            #expect {
                try GradientClipping.requireFinite(g, groups: groups)
            } throws: { error in
                guard case let .nonFiniteGradient(index, value)? = error as? OptimizationError else { return false }
                return index == bad && value.isNaN && "\(error)".contains("gradient element \(bad)")
            }
        }
    }
}
