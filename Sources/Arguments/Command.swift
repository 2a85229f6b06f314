/// A node of the command tree: either a runnable command with a spec, or a group of
/// subcommands (`fairtune bench gemm`).
public struct Command: Sendable {
    public var spec: CommandSpec
    public var subcommands: [Command]
    public var run: (@Sendable (ParsedArguments) throws -> Int32)?

    /// A runnable command.
    public init(_ spec: CommandSpec, run: @escaping @Sendable (ParsedArguments) throws -> Int32) {
        self.spec = spec
        self.subcommands = []
        self.run = run
    }

    /// A group whose first argument names one of `subcommands`.
    public init(group name: String, summary: String, subcommands: [Command]) {
        self.spec = CommandSpec(name: name, summary: summary)
        self.subcommands = subcommands
        self.run = nil
    }

    /// The last word of the command's name (`gemm` for `fairtune bench gemm`).
    public var word: String { String(spec.name.split(separator: " ").last ?? "") }

    /// The help text of a group: its summary and its subcommands.
    public var groupHelp: String {
        var lines = ["usage: \(spec.name) <command> [options]", "", spec.summary, "", "commands:"]
        let width = subcommands.map(\.word.count).max() ?? 0
        for c in subcommands { lines.append("  \(c.word.padding(width))  \(c.spec.firstSentence)") }
        lines += ["", "Run '\(spec.name) <command> --help' for a command's options."]
        return lines.joined(separator: "\n")
    }

    /// Where `arguments` lead: the runnable command and its parsed options.
    /// - Throws: `ArgumentError` for an unknown command or option, a missing value, or a help request
    ///   (`.helpRequested` carries the name of the command whose help to show).
    public func resolve(_ arguments: [String]) throws(ArgumentError) -> (Command, ParsedArguments) {
        guard run == nil else { return (self, try ParsedArguments(arguments, spec: spec)) }
        guard let first = arguments.first else { throw .missingArgument(command: spec.name, argument: "<command>") }
        if first == "-h" || first == "--help" { throw .helpRequested(command: spec.name) }
        guard let next = subcommands.first(where: { $0.word == first }) else {
            if first.hasPrefix("-") { throw .unknownOption(command: spec.name, option: first) }
            throw .unknownCommand(command: spec.name, name: first, known: subcommands.map(\.word))
        }
        return try next.resolve(Array(arguments.dropFirst()))
    }

    /// Finds the command named `name` (`fairtune bench gemm`) in this tree.
    public func find(_ name: String) -> Command? {
        if spec.name == name { return self }
        for c in subcommands { if let found = c.find(name) { return found } }
        return nil
    }
}
