/// A command-line mistake; the CLI prints it with the command's usage and exits with status 2.
public enum ArgumentError: Error, Equatable, CustomStringConvertible {
    case unknownOption(command: String, option: String)
    case missingValue(command: String, option: String)
    case unexpectedValue(command: String, option: String)
    case missingRequired(command: String, option: String)
    case repeated(command: String, option: String)
    case invalidValue(command: String, option: String, value: String, expected: String)
    case unexpectedArgument(command: String, argument: String)
    case missingArgument(command: String, argument: String)
    case unknownCommand(command: String, name: String, known: [String])
    case helpRequested(command: String)

    public var description: String {
        switch self {
        case let .unknownOption(command, option):
            return "\(command): unknown option '\(option)'"
        case let .missingValue(command, option):
            return "\(command): option '--\(option)' needs a value"
        case let .unexpectedValue(command, option):
            return "\(command): option '--\(option)' takes no value"
        case let .missingRequired(command, option):
            return "\(command): missing required option '--\(option)'"
        case let .repeated(command, option):
            return "\(command): option '--\(option)' given more than once"
        case let .invalidValue(command, option, value, expected):
            return "\(command): invalid value '\(value)' for '\(option)': expected \(expected)"
        case let .unexpectedArgument(command, argument):
            return "\(command): unexpected argument '\(argument)'"
        case let .missingArgument(command, argument):
            return "\(command): missing argument \(argument)"
        case let .unknownCommand(command, name, known):
            return "\(command): unknown command '\(name)' (commands: \(known.joined(separator: ", ")))"
        case let .helpRequested(command):
            return "\(command): help requested"
        }
    }
}

/// The result of parsing: option values by name, flags and positionals, with typed accessors
/// that throw `ArgumentError.invalidValue` naming the option.
public struct ParsedArguments: Sendable {
    public let spec: CommandSpec
    var values: [String: [String]]
    public let positionals: [String]

    /// Parses `arguments` (without the command words) against `spec`.
    ///
    /// Accepts `--name VALUE`, `--name=VALUE`, flags `--name`, and `--` before positionals that
    /// start with a dash. `-h` and `--help` throw `.helpRequested`.
    public init(_ arguments: [String], spec: CommandSpec) throws(ArgumentError) {
        self.spec = spec
        var values: [String: [String]] = [:]
        var positionals: [String] = []
        var i = 0
        var onlyPositionals = false
        while i < arguments.count {
            let argument = arguments[i]
            i += 1
            if onlyPositionals || !argument.hasPrefix("-") || argument == "-" {
                positionals.append(argument)
                continue
            }
            if argument == "--" { onlyPositionals = true; continue }
            if argument == "-h" || argument == "--help" { throw .helpRequested(command: spec.name) }
            guard argument.hasPrefix("--") else { throw .unknownOption(command: spec.name, option: argument) }
            var name = String(argument.dropFirst(2))
            var inlineValue: String?
            if let eq = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let option = spec.option(named: name) else {
                throw .unknownOption(command: spec.name, option: "--\(name)")
            }
            if values[name] != nil && !option.isRepeatable { throw .repeated(command: spec.name, option: name) }
            if option.isFlag {
                if inlineValue != nil { throw .unexpectedValue(command: spec.name, option: name) }
                values[name, default: []].append("")
                continue
            }
            if let inlineValue {
                values[name, default: []].append(inlineValue)
            } else {
                guard i < arguments.count, Self.isValue(arguments[i]) else { throw .missingValue(command: spec.name, option: name) }
                values[name, default: []].append(arguments[i])
                i += 1
            }
        }
        for option in spec.options where option.isRequired && values[option.name] == nil {
            throw .missingRequired(command: spec.name, option: option.name)
        }
        if positionals.count > spec.positionals.count {
            throw .unexpectedArgument(command: spec.name, argument: positionals[spec.positionals.count])
        }
        for (index, p) in spec.positionals.enumerated() where p.isRequired && index >= positionals.count {
            throw .missingArgument(command: spec.name, argument: p.name)
        }
        self.values = values
        self.positionals = positionals
    }

    /// Whether an argument after a valued option is its value: a following "--x" or "-h" is the
    /// next option, while "-", negative numbers and lists starting with one ("-1,2") are values.
    static func isValue(_ argument: String) -> Bool {
        guard argument.hasPrefix("-"), argument != "-", Double(argument) == nil else { return true }
        guard let next = argument.dropFirst().first else { return false }
        return next.isNumber || next == "."
    }

    private func declared(_ name: String) -> OptionSpec {
        guard let option = spec.option(named: name) else {
            preconditionFailure("\(spec.name) reads undeclared option --\(name)")
        }
        return option
    }

    /// Whether a flag was given.
    public func flag(_ name: String) -> Bool {
        precondition(declared(name).isFlag, "--\(name) is not a flag")
        return values[name] != nil
    }

    /// The option's value, its default, or nil.
    public func string(_ name: String) -> String? {
        values[name]?.last ?? declared(name).defaultValue
    }

    /// Every value of a repeatable option, in order (the default alone if it was not given).
    public func strings(_ name: String) -> [String] {
        values[name] ?? declared(name).defaultValue.map { [$0] } ?? []
    }

    /// The option's value; required options and defaulted options always have one.
    public func requiredString(_ name: String) throws(ArgumentError) -> String {
        guard let v = string(name) else { throw .missingRequired(command: spec.name, option: name) }
        return v
    }

    /// The option as an integer within `range`, or nil when absent without a default.
    public func int(_ name: String, in range: ClosedRange<Int> = Int.min...Int.max) throws(ArgumentError) -> Int? {
        guard let text = string(name) else { return nil }
        guard let v = Int(text), range.contains(v) else {
            throw .invalidValue(command: spec.name, option: "--\(name)", value: text, expected: describe(range))
        }
        return v
    }

    /// The option as a finite number within `range`, or nil when absent without a default.
    public func double(_ name: String, in range: ClosedRange<Double> = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude) throws(ArgumentError) -> Double? {
        guard let text = string(name) else { return nil }
        guard let v = Double(text), v.isFinite, range.contains(v) else {
            throw .invalidValue(command: spec.name, option: "--\(name)", value: text, expected: describe(range))
        }
        return v
    }

    /// The option as one of `choices` (case-sensitive), or nil when absent without a default.
    public func choice(_ name: String, _ choices: [String]) throws(ArgumentError) -> String? {
        guard let text = string(name) else { return nil }
        guard choices.contains(text) else {
            throw .invalidValue(command: spec.name, option: "--\(name)", value: text,
                                expected: "one of \(choices.joined(separator: ", "))")
        }
        return text
    }

    private func describe(_ range: ClosedRange<Int>) -> String {
        switch (range.lowerBound == Int.min, range.upperBound == Int.max) {
        case (true, true): return "an integer"
        case (false, true): return "an integer >= \(range.lowerBound)"
        case (true, false): return "an integer <= \(range.upperBound)"
        case (false, false): return "an integer in [\(range.lowerBound), \(range.upperBound)]"
        }
    }

    private func describe(_ range: ClosedRange<Double>) -> String {
        let big = Double.greatestFiniteMagnitude
        switch (range.lowerBound == -big, range.upperBound == big) {
        case (true, true): return "a finite number"
        case (false, true): return "a number >= \(range.lowerBound)"
        case (true, false): return "a number <= \(range.upperBound)"
        case (false, false): return "a number in [\(range.lowerBound), \(range.upperBound)]"
        }
    }
}
