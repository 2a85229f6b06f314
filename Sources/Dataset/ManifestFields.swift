import JSON

/// Typed reads of manifest fields; each failure names the field path and what was expected versus
/// found (the value itself, shortened, or "no such field").
struct ManifestFields {
    /// The manifest file, for messages.
    let file: String

    func bad(_ field: String, _ expected: String, _ found: JSONValue?) -> DatasetError {
        .invalidManifest(file: file, field: field, expected: expected, found: found.map(Self.describe) ?? "no such field")
    }

    static func describe(_ value: JSONValue) -> String {
        let text = value.compactRendered()
        return text.count > 80 ? String(text.prefix(77)) + "..." : text
    }

    func object(_ value: JSONValue?, _ field: String) throws(DatasetError) -> JSONValue {
        guard let value, value.objectValue != nil else { throw bad(field, "an object", value) }
        return value
    }

    /// An object's members in file order.
    func members(_ value: JSONValue?, _ field: String) throws(DatasetError) -> [(String, JSONValue)] {
        guard let members = value?.objectValue else { throw bad(field, "an object", value) }
        return members
    }

    func array(_ value: JSONValue?, _ field: String) throws(DatasetError) -> [JSONValue] {
        guard let items = value?.arrayValue else { throw bad(field, "a list", value) }
        return items
    }

    func string(_ value: JSONValue?, _ field: String) throws(DatasetError) -> String {
        guard let text = value?.stringValue else { throw bad(field, "a string", value) }
        return text
    }

    /// A non-empty string.
    func name(_ value: JSONValue?, _ field: String) throws(DatasetError) -> String {
        guard let text = value?.stringValue, !text.isEmpty else { throw bad(field, "a non-empty name", value) }
        return text
    }

    /// A list of at least `atLeast` distinct, non-empty strings.
    func names(_ value: JSONValue?, _ field: String, atLeast: Int) throws(DatasetError) -> [String] {
        let names = value?.arrayValue?.compactMap(\.stringValue).filter { !$0.isEmpty }
        guard let names, names.count == value?.arrayValue?.count, names.count >= atLeast, Set(names).count == names.count else {
            throw bad(field, "a list of at least \(atLeast) distinct, non-empty names", value)
        }
        return names
    }

    /// An integer (a JSON number without a fraction) of at least `atLeast`.
    func integer(_ value: JSONValue?, _ field: String, atLeast: Int) throws(DatasetError) -> Int {
        guard let number = value?.intValue, number >= atLeast else {
            throw bad(field, atLeast == 1 ? "a positive integer" : "an integer >= \(atLeast)", value)
        }
        return number
    }

    /// A list of integers >= 0.
    func counts(_ value: JSONValue?, _ field: String) throws(DatasetError) -> [Int] {
        let counts = value?.arrayValue?.compactMap(\.intValue).filter { $0 >= 0 }
        guard let counts, counts.count == value?.arrayValue?.count else { throw bad(field, "a list of integers >= 0", value) }
        return counts
    }

    /// Exactly `count` finite numbers.
    func numbers(_ value: JSONValue?, _ field: String, count: Int) throws(DatasetError) -> [Double] {
        let numbers = value?.arrayValue?.compactMap(\.doubleValue).filter(\.isFinite)
        guard let numbers, numbers.count == count, value?.arrayValue?.count == count else {
            throw bad(field, "\(count) finite numbers", value)
        }
        return numbers
    }
}
