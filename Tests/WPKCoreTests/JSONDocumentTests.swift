import Foundation
import Testing

@testable import WPKCore

@Suite("JSON documents are read as RFC 8259 JSON with positions")
struct JSONDocumentTests {
    @Test("surrogate-pair escapes (as Python's json.dump writes them) decode to the character")
    func surrogatePairs() throws {
        let document = try JSONDocumentLoader.load(Array(#"{"name": "\ud83d\udca9 and \u00e9", "n": 3}"#.utf8))
        #expect(document.root["name"]?.string == "💩 and é")
        #expect(document.root["n"]?.scalar?.value == .number(Number(3)))
    }

    @Test("every node's position is the one the YAML loader gives the same JSON text")
    func positionsAgreeWithTheYAMLLoader() throws {
        let text = """
            {
              "apiVersion": "wpk/v1",
              "list": [1, 2.5, true, null, "é", {"k": []}],
            \t"deep": {"a": {"b": -1e3}}
            }
            """
        let json = try JSONDocumentLoader.load(Array(text.utf8))
        let yaml = try YAMLLoader.load(text)
        func marks(_ node: Node) -> [String] {
            var out = ["\(node.start)-\(node.end) \(node.tag)"]
            switch node.content {
            case .scalar: break
            case .sequence(let items): out += items.flatMap(marks)
            case .mapping(let entries): out += entries.flatMap { marks($0.key) + marks($0.value) }
            }
            return out
        }
        #expect(
            marks(json.root).map { $0.split(separator: "-").first ?? "" } == marks(yaml.root).map { $0.split(separator: "-").first ?? "" })
        #expect(json.root["deep"]?["a"]?["b"]?.start.description == "4:22")
        #expect(json.root["list"]?.sequence?[4].start.description == "3:32")
        #expect(json.root["list"]?.sequence?[1].tag == Tag.float)
        #expect(json.root["list"]?.sequence?[0].tag == Tag.int)
    }

    @Test("a minified document on one long line is read in linear time")
    func longLine() throws {
        let text = "[" + Array(repeating: #""é""#, count: 200_000).joined(separator: ",") + "]"
        let clock = ContinuousClock()
        let started = clock.now
        let document = try JSONDocumentLoader.load(Array(text.utf8))
        #expect(document.root.sequence?.last?.start.column == 1 + 200_000 * 4 - 3)
        #expect(clock.now - started < .seconds(10))
    }

    @Test(
        "what JSON forbids is refused with the loader's codes and positions",
        arguments: [
            (#"{"a": 1,}"#, YAMLError.Kind.syntax, "1:9", "expected a member name"),
            ("{\"a\": 1,\n \"a\": 2}", .duplicateKey, "2:2", "first defined at line 1, column 2"),
            (#"{"a": 'x'}"#, .syntax, "1:7", "unexpected character"),
            (#"["\ud83d"]"#, .syntax, "1:9", "unpaired surrogate"),
            ("# comment\n{}", .syntax, "1:1", "unexpected character"),
            ("{} {}", .syntax, "1:4", "unexpected data after"),
            ("", .noDocument, "1:1", "no JSON value"),
            (String(repeating: "[", count: 300), .depthLimit, "1:257", "deeper than 256"),
            ("[1, 2", .syntax, "1:6", "unexpected end of input"),
        ])
    func refusals(_ text: String, _ kind: YAMLError.Kind, _ position: String, _ message: String) {
        #expect(throws: YAMLError.self) { try JSONDocumentLoader.load(Array(text.utf8)) }
        do {
            _ = try JSONDocumentLoader.load(Array(text.utf8))
        } catch {
            #expect(error.kind == kind, "\(error)")
            #expect(error.mark.description == position, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test("a byte-order mark before JSON is skipped, positions unchanged")
    func byteOrderMark() throws {
        let document = try JSONDocumentLoader.load(YAMLLoader.utf8ByteOrderMark + Array("{\n \"a\": 1}".utf8))
        #expect(document.root["a"]?.start.description == "2:7")
    }

    @Test("the checker reads a .json path as JSON and any other as YAML")
    func checkerChoosesByName() throws {
        let schema = try CompiledSchema(YAMLLoader.load("type: object\nproperties: {name: {maxLength: 3}}\n").root)
        let checker = PlaybookChecker(schema: schema, appliesRules: false)
        let bytes = Array(#"{"name": "\ud83d\udca9\ud83d\udca9\ud83d\udca9\ud83d\udca9"}"#.utf8)
        let report = checker.check(bytes: bytes, path: "doc.json")
        #expect(report.diagnostics.map(\.code) == ["WPK207"], "\(report.diagnostics)")
        #expect(report.diagnostics.first?.mark?.description == "1:10")
        // As YAML the same bytes fail in libyaml (0.2.5 refuses surrogate pairs).
        #expect(checker.check(bytes: bytes, path: "doc.yaml").diagnostics.map(\.code) == ["WPK101"])
    }
}
