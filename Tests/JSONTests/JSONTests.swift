import JSON
import Testing

@Suite struct JSONReadingTests {
    @Test func keepsMemberOrderAndTypes() throws {
        let v = try JSONValue.parse(#"{"b": 1, "a": [true, null, "x\u00e9\n"], "c": {"d": -2.5e-3}}"#)
        #expect(v.objectValue?.map(\.0) == ["b", "a", "c"])
        #expect(v["b"]?.intValue == 1)
        #expect(v["a"]?.arrayValue?[0].boolValue == true)
        #expect(v["a"]?.arrayValue?[1].isNull == true)
        #expect(v["a"]?.arrayValue?[2].stringValue == "xé\n")
        #expect(v["c"]?["d"]?.doubleValue == -0.0025)
    }

    /// Lines as Python's `json.dumps` writes them for Optuna's journal (non-finite values bare,
    /// a distribution as a JSON string inside JSON, characters beyond the BMP as surrogate pairs).
    @Test func readsPythonsNonStandardTokens() throws {
        let line = #"{"op_code":7,"trial_id":3,"step":0,"intermediate_value":NaN,"values":[Infinity,-Infinity],"s":"\ud83d\ude00"}"#
        let v = try JSONValue.parse(line)
        #expect(v["intermediate_value"]?.doubleValue?.isNaN == true)
        #expect(v["values"]?.arrayValue?.compactMap(\.doubleValue) == [.infinity, -.infinity])
        #expect(v["s"]?.stringValue == "😀")
        let inner = #"{"distribution":"{\"name\": \"IntDistribution\", \"attributes\": {\"low\": 0}}"}"#
        let text = try #require(JSONValue.parse(inner)["distribution"]?.stringValue)
        #expect(try JSONValue.parse(text)["attributes"]?["low"]?.intValue == 0)
    }

    @Test(arguments: [
        ("{\"a\": 1,}", "line 1, column 9"),
        ("{\"a\": 1, \"a\": 2}", "appears twice"),
        ("[1, 2", "expected ',' or ']'"),
        ("{\"a\":\n tru}", "line 2, column 2"),
        ("1 2", "unexpected text after the value"),
        ("\"abc", "unterminated string"),
        ("01", "leading zero"),
        ("-", "expected a value"),
    ])
    func rejectsBrokenText(text: String, expected: String) {
        #expect {
            _ = try JSONValue.parse(text)
        } throws: { error in
            String(describing: error).contains(expected)
        }
    }

    @Test func refusesDeepNesting() {
        let text = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: JSONParseError.self) { _ = try JSONValue.parse(text) }
    }
}

/// The strict mode formats such as safetensors need, and duplicate names left to the caller.
@Suite struct JSONStrictReadingTests {
    @Test(arguments: [("[NaN]", 1), ("[1, Infinity]", 4), ("{\"x\": -Infinity}", 6)])
    func strictJSONRefusesNonFiniteTokensAtTheirOffset(text: String, offset: Int) throws {
        #expect(throws: Never.self) { _ = try JSONValue.parse(bytes: Array(text.utf8)) }
        #expect {
            _ = try JSONValue.parse(bytes: Array(text.utf8), allowNonFinite: false)
        } throws: { error in
            guard let error = error as? JSONParseError else { return false }
            return error.offset == offset && error.message.contains("is not a JSON number")
        }
    }

    @Test func duplicateMembersKeptWhenAllowed() throws {
        let text = #"{"a": 1, "b": {"c": 2, "c": 3}, "a": 4}"#
        #expect(throws: JSONParseError.self) { _ = try JSONValue.parse(text) }
        let v = try JSONValue.parse(bytes: Array(text.utf8), allowDuplicateMembers: true)
        #expect(v.objectValue?.map(\.0) == ["a", "b", "a"])
        #expect(v.objectValue?.map { $0.1.intValue } == [1, nil, 4])
        #expect(v["b"]?.objectValue?.map { $0.1.intValue } == [2, 3])
    }
}

@Suite struct JSONWritingTests {
    /// The expected text is what Python's `json.dumps(..., separators=(",", ":"), ensure_ascii=False)`
    /// writes for the same value (the form of serde_json, and so of safetensors headers).
    @Test func rendersWithoutSpacesAsPythonsTightSeparators() {
        let v = JSONValue.object([("s", .string("a\u{8}\u{C}\u{1}")), ("n", .array([.number(1), .number(2)])),
                                  ("o", .object([("k", .null)]))])
        #expect(v.compactRendered(withSpaces: false) == #"{"s":"a\b\f\u0001","n":[1,2],"o":{"k":null}}"#)
    }


    @Test func rendersCompactLinesAndRoundTrips() throws {
        let v = JSONValue.object([
            ("n", .number(3)), ("x", .number(0.1)), ("nan", .number(.nan)), ("inf", .number(-.infinity)),
            ("s", .string("a\"b\\c\u{1}")), ("list", .array([.number(1), .object([("k", .null)])])),
        ])
        let line = v.compactRendered()
        #expect(line == #"{"n": 3, "x": 0.1, "nan": NaN, "inf": -Infinity, "s": "a\"b\\c\u0001", "list": [1, {"k": null}]}"#)
        #expect(!line.contains("\n"))
        let back = try JSONValue.parse(line)
        #expect(back["s"]?.stringValue == "a\"b\\c\u{1}")
        #expect(back["nan"]?.doubleValue?.isNaN == true)
        #expect(try JSONValue.parse(v.rendered()) == back)
    }

    @Test func indentsNestedValuesOnly() {
        let v = JSONValue.object([("a", .object([("b", .number(1))])), ("c", .array([.number(1), .number(2)]))])
        #expect(v.rendered() == "{\n  \"a\": {\"b\": 1},\n  \"c\": [1, 2]\n}")
    }
}
