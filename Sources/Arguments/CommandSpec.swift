/// One option of a command: `--name VALUE` (or `--name=VALUE`), or a flag `--name`.
public struct OptionSpec: Sendable {
    public var name: String
    /// The placeholder shown in help (`PATH`, `N`); nil for a flag that takes no value.
    public var valueName: String?
    public var help: String
    /// Shown in help and returned when the option is absent.
    public var defaultValue: String?
    public var isRequired: Bool
    /// Whether the option may be given more than once (`--attribute sex --attribute age`).
    public var isRepeatable: Bool

    /// An option that takes a value.
    public static func value(_ name: String, _ valueName: String, _ help: String, default defaultValue: String? = nil,
                             required: Bool = false, repeatable: Bool = false) -> OptionSpec {
        OptionSpec(name: name, valueName: valueName, help: help, defaultValue: defaultValue,
                   isRequired: required, isRepeatable: repeatable)
    }

    /// A flag: present or absent.
    public static func flag(_ name: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, valueName: nil, help: help, defaultValue: nil, isRequired: false, isRepeatable: false)
    }

    public var isFlag: Bool { valueName == nil }
}

/// A positional argument.
public struct PositionalSpec: Sendable {
    public var name: String
    public var help: String
    public var isRequired: Bool

    public init(_ name: String, _ help: String, required: Bool = true) {
        self.name = name
        self.help = help
        self.isRequired = required
    }
}

/// What a command accepts: its options and positionals, with help text.
public struct CommandSpec: Sendable {
    /// The full command as typed, e.g. `fairtune bench gemm`.
    public var name: String
    public var summary: String
    public var options: [OptionSpec]
    public var positionals: [PositionalSpec]

    public init(name: String, summary: String, options: [OptionSpec] = [], positionals: [PositionalSpec] = []) {
        self.name = name
        self.summary = summary
        self.options = options
        self.positionals = positionals
    }

    func option(named name: String) -> OptionSpec? { options.first { $0.name == name } }

    /// The summary's first sentence on one line: what a command list shows.
    public var firstSentence: String {
        let text = Array(summary.split(separator: "\n").joined(separator: " "))
        for i in text.indices.dropLast() where text[i] == "." && text[i + 1] == " " {
            return String(text[...i])
        }
        return String(text)
    }

    /// The help text: usage line, summary, positionals and options.
    public var help: String {
        var usage = "usage: \(name)"
        for o in options where o.isRequired { usage += " --\(o.name) \(o.valueName ?? "")" }
        if options.contains(where: { !$0.isRequired }) { usage += " [options]" }
        for p in positionals { usage += p.isRequired ? " \(p.name)" : " [\(p.name)]" }
        var lines = [usage, "", summary]
        if !positionals.isEmpty {
            lines += ["", "arguments:"]
            let width = positionals.map(\.name.count).max() ?? 0
            for p in positionals { lines.append("  \(p.name.padding(width))  \(p.help)") }
        }
        lines += ["", "options:"]
        let all = options + [.flag("help", "show this help and exit")]
        let labels = all.map { o in "--\(o.name)" + (o.valueName.map { " \($0)" } ?? "") }
        let width = labels.map(\.count).max() ?? 0
        for (o, label) in zip(all, labels) {
            var text = o.help
            if let d = o.defaultValue { text += " (default: \(d))" }
            if o.isRequired { text += " (required)" }
            if o.isRepeatable { text += " (repeatable)" }
            lines.append("  \(label.padding(width))  \(text)")
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
