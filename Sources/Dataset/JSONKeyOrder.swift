/// The order of an object's keys as written in JSON text.
///
/// `JSONDecoder` hands objects over as dictionaries, which forget the order; the manifest lists
/// attributes "in file order", so that order is read from the text itself.
enum JSONKeyOrder {
    /// The keys of the object stored under the top-level member `member`, in text order; nil when
    /// the text is not a JSON object or the member is absent or not an object.
    static func keys(ofTopLevelMember member: String, in text: [UInt8]) -> [String]? {
        var scanner = Scanner(bytes: text)
        guard let top = scanner.objectMembers() else { return nil }
        for (key, start) in top where key == member {
            var inner = Scanner(bytes: text, position: start)
            return inner.objectMembers()?.map(\.key)
        }
        return nil
    }

    /// A skipping scanner: enough JSON to find member keys and step over values.
    private struct Scanner {
        let bytes: [UInt8]
        var position = 0

        init(bytes: [UInt8], position: Int = 0) {
            self.bytes = bytes
            self.position = position
        }

        mutating func skipSpace() {
            while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
        }

        /// Reads an object at the current position: each key with the offset where its value starts.
        mutating func objectMembers() -> [(key: String, start: Int)]? {
            skipSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "{") else { return nil }
            position += 1
            var members: [(key: String, start: Int)] = []
            skipSpace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return members }
            while true {
                skipSpace()
                guard let key = string() else { return nil }
                skipSpace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { return nil }
                position += 1
                skipSpace()
                members.append((key, position))
                guard skipValue() else { return nil }
                skipSpace()
                guard position < bytes.count else { return nil }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                if bytes[position] == UInt8(ascii: "}") { position += 1; return members }
                return nil
            }
        }

        /// Reads a string literal (escapes kept simple: `\"` and `\\` unescaped, others verbatim).
        mutating func string() -> String? {
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { return nil }
            position += 1
            var raw: [UInt8] = []
            while position < bytes.count {
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") { position += 1; return String(decoding: raw, as: UTF8.self) }
                if byte == UInt8(ascii: "\\"), position + 1 < bytes.count {
                    let next = bytes[position + 1]
                    if next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") || next == UInt8(ascii: "/") {
                        raw.append(next)
                    } else {
                        raw.append(byte)
                        raw.append(next)
                    }
                    position += 2
                    continue
                }
                raw.append(byte)
                position += 1
            }
            return nil
        }

        /// Steps over one value of any kind; false on malformed text.
        mutating func skipValue() -> Bool {
            skipSpace()
            guard position < bytes.count else { return false }
            switch bytes[position] {
            case UInt8(ascii: "\""):
                return string() != nil
            case UInt8(ascii: "{"):
                return objectMembers() != nil
            case UInt8(ascii: "["):
                position += 1
                skipSpace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return true }
                while true {
                    guard skipValue() else { return false }
                    skipSpace()
                    guard position < bytes.count else { return false }
                    if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                    if bytes[position] == UInt8(ascii: "]") { position += 1; return true }
                    return false
                }
            default:  // number, true, false, null
                let start = position
                while position < bytes.count,
                      !([UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D].contains(bytes[position])) {
                    position += 1
                }
                return position > start
            }
        }
    }
}
