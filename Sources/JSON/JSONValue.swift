/// A JSON value whose objects keep their key order, so files read top-down and diff cleanly.
///
/// One JSON layer for every file fairtune writes or reads: run files, metrics reports, dataset
/// manifests and the Optuna study journal. Non-finite numbers render as Python's `json` writes them
/// (`NaN`, `Infinity`, `-Infinity`), which Optuna's journal holds; reports never contain them
/// (undefined metrics are objects).
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    /// Keys in the order given.
    case object([(String, JSONValue)])

    /// Equal when the rendered texts are equal.
    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.compactRendered() == b.compactRendered() }

    /// The value as indented JSON text (two spaces); arrays of scalars and objects of scalars stay
    /// on one line. Numbers in shortest round-trip form, integral ones without a fraction.
    public func rendered(indent: String = "") -> String {
        var out = ""
        write(to: &out, indent: indent, pretty: true, spaced: true)
        return out
    }

    /// The value on one line, separators as Python's `json.dumps` default (for JSON Lines files);
    /// with `withSpaces: false`, no space after `,` and `:` (Python's `separators=(",", ":")`, the
    /// form serde_json writes, e.g. in safetensors headers).
    public func compactRendered(withSpaces: Bool = true) -> String {
        var out = ""
        write(to: &out, indent: "", pretty: false, spaced: withSpaces)
        return out
    }

    /// Whether the value is a number, string, bool or null.
    public var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }

    private func write(to out: inout String, indent: String, pretty: Bool, spaced: Bool) {
        let inner = indent + "  "
        let comma = spaced ? ", " : ",", colon = spaced ? ": " : ":"
        switch self {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .number(x): out += JSONValue.numberText(x)
        case let .string(s): JSONValue.quote(s, into: &out)
        case let .array(items):
            if items.isEmpty { out += "[]"; return }
            let oneLine = !pretty || items.allSatisfy(\.isScalar)
            out += oneLine ? "[" : "[\n"
            for (i, item) in items.enumerated() {
                if i > 0 { out += oneLine ? comma : ",\n" }
                if !oneLine { out += inner }
                item.write(to: &out, indent: inner, pretty: pretty, spaced: spaced)
            }
            out += oneLine ? "]" : "\n" + indent + "]"
        case let .object(pairs):
            if pairs.isEmpty { out += "{}"; return }
            let oneLine = !pretty || pairs.allSatisfy { $0.1.isScalar }
            out += oneLine ? "{" : "{\n"
            for (i, (key, value)) in pairs.enumerated() {
                if i > 0 { out += oneLine ? comma : ",\n" }
                if !oneLine { out += inner }
                JSONValue.quote(key, into: &out)
                out += colon
                value.write(to: &out, indent: inner, pretty: pretty, spaced: spaced)
            }
            out += oneLine ? "}" : "\n" + indent + "}"
        }
    }

    /// Shortest round-trip text; integral values below 1e15 without a fraction; Python's tokens
    /// for non-finite values.
    static func numberText(_ x: Double) -> String {
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x > 0 ? "Infinity" : "-Infinity" }
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return "\(x)"
    }

    static func quote(_ s: String, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{8}": out += "\\b"
            case "\u{C}": out += "\\f"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}

// MARK: - Reading values

extension JSONValue {
    /// The member `key` of an object (the first one if repeated); nil for a missing key or a non-object.
    public subscript(key: String) -> JSONValue? {
        guard case let .object(pairs) = self else { return nil }
        return pairs.first { $0.0 == key }?.1
    }

    public var stringValue: String? {
        if case let .string(s) = self { return s }
        return nil
    }

    public var doubleValue: Double? {
        if case let .number(x) = self { return x }
        return nil
    }

    /// The number when it is integral and fits an `Int`.
    public var intValue: Int? {
        guard case let .number(x) = self, x == x.rounded(), abs(x) < 9.0e15 else { return nil }
        return Int(x)
    }

    public var boolValue: Bool? {
        if case let .bool(b) = self { return b }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case let .array(items) = self { return items }
        return nil
    }

    /// The members in file order.
    public var objectValue: [(String, JSONValue)]? {
        if case let .object(pairs) = self { return pairs }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}
