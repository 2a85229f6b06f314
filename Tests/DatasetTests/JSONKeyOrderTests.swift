@testable import Dataset
import Foundation
import XCTest

/// The key-order scanner against texts Python's json module writes (checked by hand here: the
/// expected orders are the orders in the literals).
final class JSONKeyOrderTests: XCTestCase {
    func testKeysInTextOrderPastTrickyValues() {
        let text = #"""
        {"splits": {"z": 1}, "note": "a } and a \" and { inside", "list": [1, [2, {"x": 3}], "]"],
         "attributes": {"sex": {"groups": ["F", "M"]}, "age_binary": {"groups": ["<=60", ">60"]},
                        "a\"b": {}, "skin": {"groups": []}},
         "n": -1.5e3, "t": true, "f": null}
        """#
        XCTAssertEqual(JSONKeyOrder.keys(ofTopLevelMember: "attributes", in: Array(text.utf8)), ["sex", "age_binary", "a\"b", "skin"])
        XCTAssertEqual(JSONKeyOrder.keys(ofTopLevelMember: "splits", in: Array(text.utf8)), ["z"])
        XCTAssertNil(JSONKeyOrder.keys(ofTopLevelMember: "note", in: Array(text.utf8)))
        XCTAssertNil(JSONKeyOrder.keys(ofTopLevelMember: "missing", in: Array(text.utf8)))
    }

    func testMalformedTextGivesNil() {
        for text in ["", "[1, 2]", "{\"attributes\": {\"a\": 1", "{\"attributes\" {}}", "{\"attributes\": {\"a\": }}"] {
            XCTAssertNil(JSONKeyOrder.keys(ofTopLevelMember: "attributes", in: Array(text.utf8)), text)
        }
    }

    func testAgreesWithPythonOrderOfTheFixtureManifest() throws {
        // make_shard_fixtures.py writes attributes sex, then age_binary; splits train, val, test.
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.tiny + "/manifest.json")))
        XCTAssertEqual(JSONKeyOrder.keys(ofTopLevelMember: "attributes", in: bytes), ["sex", "age_binary"])
        XCTAssertEqual(JSONKeyOrder.keys(ofTopLevelMember: "splits", in: bytes), ["train", "val", "test"])
    }
}
