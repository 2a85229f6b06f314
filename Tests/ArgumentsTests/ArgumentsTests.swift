import Arguments
import Testing

private let spec = CommandSpec(
    name: "fairtune demo", summary: "A command for tests.",
    options: [
        .value("data", "DIR", "dataset folder", required: true),
        .value("lr", "X", "learning rate", default: "0.001"),
        .value("epochs", "N", "epochs"),
        .value("attribute", "NAME", "sensitive attribute", repeatable: true),
        .flag("resume", "continue a run"),
    ],
    positionals: [PositionalSpec("RUN_DIR", "output folder", required: false)])

@Suite struct ParsedArgumentsTests {
    @Test func parsesSpaceAndEqualsForms() throws {
        let a = try ParsedArguments(["--data", "d", "--lr=0.1", "--attribute", "sex", "--attribute=age", "--resume", "out"],
                                    spec: spec)
        #expect(a.string("data") == "d")
        #expect(try a.double("lr") == 0.1)
        #expect(a.strings("attribute") == ["sex", "age"])
        #expect(a.flag("resume"))
        #expect(a.positionals == ["out"])
        #expect(try a.int("epochs") == nil)
    }

    @Test func defaultsApplyWhenAbsent() throws {
        let a = try ParsedArguments(["--data", "d"], spec: spec)
        #expect(try a.double("lr") == 0.001)
        #expect(!a.flag("resume"))
        #expect(a.strings("attribute") == [])
    }

    @Test func negativeNumbersAreValues() throws {
        let a = try ParsedArguments(["--data", "d", "--lr", "-1e-3"], spec: spec)
        #expect(a.string("lr") == "-1e-3")
        // A list starting with a negative number is a value too, so its check can say what is wrong.
        let b = try ParsedArguments(["--data", "d", "--lr", "-1,2"], spec: spec)
        #expect(b.string("lr") == "-1,2")
        #expect(try ParsedArguments(["--data", "d", "--lr", "-.5"], spec: spec).string("lr") == "-.5")
    }

    @Test func dashDashEndsOptions() throws {
        let a = try ParsedArguments(["--data", "d", "--", "--odd-name"], spec: spec)
        #expect(a.positionals == ["--odd-name"])
    }

    @Test func rejectsMistakes() {
        let n = spec.name
        #expect(throws: ArgumentError.unknownOption(command: n, option: "--bogus")) {
            try ParsedArguments(["--data", "d", "--bogus"], spec: spec)
        }
        #expect(throws: ArgumentError.unknownOption(command: n, option: "-x")) { try ParsedArguments(["-x"], spec: spec) }
        #expect(throws: ArgumentError.missingValue(command: n, option: "data")) { try ParsedArguments(["--data"], spec: spec) }
        #expect(throws: ArgumentError.missingValue(command: n, option: "data")) {
            try ParsedArguments(["--data", "--resume"], spec: spec)
        }
        #expect(throws: ArgumentError.missingRequired(command: n, option: "data")) { try ParsedArguments([], spec: spec) }
        #expect(throws: ArgumentError.repeated(command: n, option: "lr")) {
            try ParsedArguments(["--data", "d", "--lr", "1", "--lr", "2"], spec: spec)
        }
        #expect(throws: ArgumentError.unexpectedValue(command: n, option: "resume")) {
            try ParsedArguments(["--data", "d", "--resume=yes"], spec: spec)
        }
        #expect(throws: ArgumentError.unexpectedArgument(command: n, argument: "extra")) {
            try ParsedArguments(["--data", "d", "out", "extra"], spec: spec)
        }
        #expect(throws: ArgumentError.helpRequested(command: n)) { try ParsedArguments(["--help"], spec: spec) }
        #expect(throws: ArgumentError.helpRequested(command: n)) { try ParsedArguments(["-h"], spec: spec) }
    }

    @Test func typedAccessorsNameTheOption() throws {
        let a = try ParsedArguments(["--data", "d", "--epochs", "ten", "--lr", "nan"], spec: spec)
        #expect(throws: ArgumentError.invalidValue(command: spec.name, option: "--epochs", value: "ten",
                                                   expected: "an integer >= 1")) { try a.int("epochs", in: 1...Int.max) }
        #expect(throws: ArgumentError.invalidValue(command: spec.name, option: "--lr", value: "nan",
                                                   expected: "a finite number")) { try a.double("lr") }
        let b = try ParsedArguments(["--data", "d", "--epochs", "0"], spec: spec)
        #expect(throws: ArgumentError.invalidValue(command: spec.name, option: "--epochs", value: "0",
                                                   expected: "an integer in [1, 5]")) { try b.int("epochs", in: 1...5) }
        #expect(throws: ArgumentError.invalidValue(command: spec.name, option: "--data", value: "d",
                                                   expected: "one of x, y")) { try b.choice("data", ["x", "y"]) }
    }

    @Test func helpListsEveryOption() {
        let help = spec.help
        for word in ["usage: fairtune demo --data DIR [options] [RUN_DIR]", "--lr X", "(default: 0.001)", "(required)",
                     "(repeatable)", "--resume", "--help"] {
            #expect(help.contains(word), "help lacks \(word)")
        }
    }
}

@Suite struct CommandTreeTests {
    let tree = Command(group: "tool", summary: "root", subcommands: [
        Command(CommandSpec(name: "tool run", summary: "runs", options: [.flag("fast", "go fast")])) { _ in 0 },
        Command(group: "tool bench", summary: "benchmarks", subcommands: [
            Command(CommandSpec(name: "tool bench gemm", summary: "gemm")) { _ in 7 },
        ]),
    ])

    @Test func resolvesNestedCommands() throws {
        let (command, parsed) = try tree.resolve(["bench", "gemm"])
        #expect(command.spec.name == "tool bench gemm")
        #expect(try command.run!(parsed) == 7)
        let (run, p) = try tree.resolve(["run", "--fast"])
        #expect(run.word == "run" && p.flag("fast"))
    }

    @Test func reportsUnknownAndMissingCommands() {
        #expect(throws: ArgumentError.unknownCommand(command: "tool", name: "fly", known: ["run", "bench"])) {
            try tree.resolve(["fly"])
        }
        #expect(throws: ArgumentError.missingArgument(command: "tool bench", argument: "<command>")) {
            try tree.resolve(["bench"])
        }
        #expect(throws: ArgumentError.helpRequested(command: "tool bench")) { try tree.resolve(["bench", "--help"]) }
        #expect(tree.find("tool bench gemm")?.word == "gemm")
        #expect(tree.groupHelp.contains("bench  benchmarks"))
        let long = CommandSpec(name: "tool long", summary: "Does one thing\nacross lines. Then more detail.\nAnd more.")
        #expect(long.firstSentence == "Does one thing across lines.")
    }
}
