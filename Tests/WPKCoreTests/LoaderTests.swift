import BigInt
import Testing

@testable import WPKCore

/// A hostile or malformed input and the exact error it must produce.
struct LoaderFailureCase: CustomTestStringConvertible, Sendable {
    var name: String
    var bytes: [UInt8]
    var kind: YAMLError.Kind
    var line: Int
    var column: Int
    var messageContains: String
    var limits: LoaderLimits = .default

    var testDescription: String { name }

    init(
        _ name: String, _ text: String, _ kind: YAMLError.Kind, _ line: Int, _ column: Int, _ messageContains: String,
        limits: LoaderLimits = .default
    ) {
        self.init(name, Array(text.utf8), kind, line, column, messageContains, limits: limits)
    }

    init(
        _ name: String, _ bytes: [UInt8], _ kind: YAMLError.Kind, _ line: Int, _ column: Int, _ messageContains: String,
        limits: LoaderLimits = .default
    ) {
        self.name = name
        self.bytes = bytes
        self.kind = kind
        self.line = line
        self.column = column
        self.messageContains = messageContains
        self.limits = limits
    }
}

private let billionLaughs = """
    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
    g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
    h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
    i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
    """

private let failureCases: [LoaderFailureCase] = {
    var tinyLimits = LoaderLimits()
    tinyLimits.maxFileBytes = 16
    return [
        LoaderFailureCase("syntax: unclosed flow sequence", "a: [1, 2\nb: 3\n", .syntax, 2, 2, "flow sequence"),
        LoaderFailureCase("syntax: bad indentation", "a:\n  b: 1\n c: 2\n", .syntax, 3, 2, "did not find expected key"),
        LoaderFailureCase(
            "invalid UTF-8 in a value", [UInt8]("name: ab".utf8) + [0xC3, 0x28] + [UInt8]("\n".utf8), .encoding, 1, 9,
            "invalid UTF-8 byte 0xC3"),
        LoaderFailureCase("overlong UTF-8 on line 2", [UInt8]("a: 1\nb: ".utf8) + [0xC0, 0xAF], .encoding, 2, 4, "invalid UTF-8"),
        LoaderFailureCase("surrogate encoded in UTF-8", [UInt8]("a: ".utf8) + [0xED, 0xA0, 0x80], .encoding, 1, 4, "invalid UTF-8"),
        LoaderFailureCase("NUL byte after a multibyte character", [UInt8]("é: x".utf8) + [0x00], .encoding, 1, 5, "NUL byte"),
        LoaderFailureCase("UTF-16 little endian with BOM", [0xFF, 0xFE, 0x61, 0x00], .encoding, 1, 1, "UTF-16"),
        LoaderFailureCase("UTF-16 big endian with BOM", [0xFE, 0xFF, 0x00, 0x61], .encoding, 1, 1, "UTF-16"),
        LoaderFailureCase("UTF-16 without BOM", [0x61, 0x00, 0x3A, 0x00], .encoding, 1, 2, "NUL byte"),
        // A UTF-8 byte-order mark is allowed and positions after it are those without it.
        LoaderFailureCase(
            "syntax error after a UTF-8 BOM", [0xEF, 0xBB, 0xBF] + [UInt8]("a: [1, 2\nb: 3\n".utf8), .syntax, 2, 2, "flow sequence"),
        LoaderFailureCase(
            "duplicate key after a UTF-8 BOM", [0xEF, 0xBB, 0xBF] + [UInt8]("a: 1\na: 2\n".utf8), .duplicateKey, 2, 1, "line 1, column 1"),
        LoaderFailureCase(
            "duplicate key names the first", "spec:\n  mode: manual\n  other: 1\n  mode: auto\n", .duplicateKey, 4, 3,
            "first defined at line 2, column 3"),
        LoaderFailureCase("duplicate key quoted vs plain", "a: 1\n\"a\": 2\n", .duplicateKey, 2, 1, "duplicate key \"a\""),
        LoaderFailureCase("duplicate key in flow mapping", "x: {k: 1, k: 2}\n", .duplicateKey, 1, 11, "line 1, column 5"),
        LoaderFailureCase("two documents", "a: 1\n---\nb: 2\n", .multipleDocuments, 2, 1, "more than one YAML document"),
        LoaderFailureCase("empty file", "", .noDocument, 1, 1, "no YAML document"),
        LoaderFailureCase("comment-only file", "# nothing\n", .noDocument, 1, 1, "no YAML document"),
        LoaderFailureCase("sequence as a key", "? [a, b]\n: 1\n", .nonScalarKey, 1, 3, "mapping key is a sequence"),
        LoaderFailureCase("mapping as a key", "? {a: 1}\n: 1\n", .nonScalarKey, 1, 3, "mapping key is a mapping"),
        LoaderFailureCase("python object tag", "x: !!python/object:os.system [rm]\n", .unsupportedTag, 1, 4, "!!python/object:os.system"),
        LoaderFailureCase("local tag on a scalar", "x: !secret abc\n", .unsupportedTag, 1, 4, "!secret"),
        LoaderFailureCase("binary tag", "x: !!binary aGVsbG8=\n", .unsupportedTag, 1, 4, "!!binary"),
        LoaderFailureCase("set tag on a mapping", "x: !!set {a, b}\n", .unsupportedTag, 1, 4, "!!set"),
        LoaderFailureCase("int tag on text", "x: !!int twelve\n", .invalidValue, 1, 4, "not a valid !!int"),
        LoaderFailureCase("billion laughs", billionLaughs, .aliasLimit, 6, 8, "more than 100000 nodes"),
        LoaderFailureCase("undefined alias", "a: *nowhere\n", .undefinedAlias, 1, 4, "*nowhere"),
        LoaderFailureCase("recursive alias", "a: &r [1, *r]\n", .undefinedAlias, 1, 11, "*r"),
        LoaderFailureCase("100,000 nested flow sequences", String(repeating: "[", count: 100_000), .depthLimit, 1, 257, "deeper than 256"),
        LoaderFailureCase(
            "deep block nesting", (0..<300).map { String(repeating: " ", count: $0) + "k:" }.joined(separator: "\n") + " 1\n", .depthLimit,
            257, 257, "deeper than 256"),
        LoaderFailureCase(
            "file past the size limit", "a: 12345678901234567890\n", .sizeLimit, 1, 1, "larger than the limit of 16 bytes",
            limits: tinyLimits),
        LoaderFailureCase("merge of a scalar", "a: &x 1\nb:\n  <<: *x\n", .invalidMerge, 3, 7, "merge key"),
        LoaderFailureCase("number past the exponent limit", "a: 1e999999999\n", .invalidValue, 1, 4, "out of the supported range"),
        LoaderFailureCase("control character", "a: \u{1B}[31m\n", .syntax, 1, 4, "control characters"),
    ]
}()

@Test("hostile and malformed input fails with its exact position", arguments: failureCases)
func loaderRejects(_ testCase: LoaderFailureCase) {
    do {
        _ = try YAMLLoader.load(testCase.bytes, limits: testCase.limits)
        Issue.record("expected \(testCase.kind) error")
    } catch {
        #expect(error.kind == testCase.kind, "\(error)")
        #expect(error.mark.line == testCase.line, "\(error)")
        #expect(error.mark.column == testCase.column, "\(error)")
        #expect(error.message.contains(testCase.messageContains), "\(error.message)")
    }
}

@Test("a UTF-8 byte-order mark at the start is skipped; positions are those of the file without it")
func byteOrderMarkSkipped() throws {
    let text = "name: x\nlist:\n  - é\n"
    let plain = try YAMLLoader.load(text)
    let marked = try YAMLLoader.load(YAMLLoader.utf8ByteOrderMark + Array(text.utf8))
    #expect(marked.root["name"]?.string == "x")
    #expect(marked.root["name"]?.start == plain.root["name"]?.start)
    #expect(marked.root["list"]?.sequence?.first?.start == plain.root["list"]?.sequence?.first?.start)
    #expect(marked.root["list"]?.sequence?.first?.start.description == "3:5")
}

/// A scalar and how the YAML 1.2 core schema must resolve it.
struct ResolutionCase: CustomTestStringConvertible, Sendable {
    var source: String
    var value: ScalarValue
    var tag: String
    var testDescription: String { source }
}

private let resolutionCases: [ResolutionCase] = [
    ResolutionCase(source: "true", value: .bool(true), tag: Tag.bool),
    ResolutionCase(source: "False", value: .bool(false), tag: Tag.bool),
    ResolutionCase(source: "yes", value: .string("yes"), tag: Tag.str),
    ResolutionCase(source: "no", value: .string("no"), tag: Tag.str),
    ResolutionCase(source: "on", value: .string("on"), tag: Tag.str),
    ResolutionCase(source: "off", value: .string("off"), tag: Tag.str),
    ResolutionCase(source: "y", value: .string("y"), tag: Tag.str),
    ResolutionCase(source: "n", value: .string("n"), tag: Tag.str),
    ResolutionCase(source: "~", value: .null, tag: Tag.null),
    ResolutionCase(source: "null", value: .null, tag: Tag.null),
    ResolutionCase(source: "", value: .null, tag: Tag.null),
    ResolutionCase(source: "42", value: .number(Number(42)), tag: Tag.int),
    ResolutionCase(source: "-7", value: .number(Number(-7)), tag: Tag.int),
    ResolutionCase(source: "0x1F", value: .number(Number(31)), tag: Tag.int),
    ResolutionCase(source: "0o17", value: .number(Number(15)), tag: Tag.int),
    ResolutionCase(source: "1.0", value: .number(Number(1)), tag: Tag.float),
    ResolutionCase(source: "2.5e3", value: .number(Number(2500)), tag: Tag.float),
    ResolutionCase(source: "9007199254740993", value: .number(Number(significand: BigInt("9007199254740993", radix: 10)!)), tag: Tag.int),
    ResolutionCase(
        source: "123456789012345678901234567890", value: .number(Number(significand: BigInt("123456789012345678901234567890", radix: 10)!)),
        tag: Tag.int),
    ResolutionCase(source: ".inf", value: .nonFinite(.infinity), tag: Tag.float),
    ResolutionCase(source: "1.2.3", value: .string("1.2.3"), tag: Tag.str),
    ResolutionCase(source: "0x", value: .string("0x"), tag: Tag.str),
    ResolutionCase(source: "\"42\"", value: .string("42"), tag: Tag.str),
    ResolutionCase(source: "!!str 42", value: .string("42"), tag: Tag.str),
    ResolutionCase(source: "!!float 3", value: .number(Number(3)), tag: Tag.float),
]

@Test("scalars resolve by the YAML 1.2 core schema", arguments: resolutionCases)
func coreSchemaResolution(_ testCase: ResolutionCase) throws {
    let document = try YAMLLoader.load("v: \(testCase.source)\n")
    let node = try #require(document.root["v"])
    #expect(node.scalar?.value == testCase.value)
    #expect(node.tag == testCase.tag)
}

@Test(
    "YAML 1.1 readings are reported as ambiguous",
    arguments: [
        ("yes", "the boolean true"), ("Off", "the boolean false"), ("n", "the boolean false"),
        ("1:30", "a base-60 number"), ("0755", "an octal number"), ("hello", nil), ("\"yes\"", nil), ("true", nil),
        ("190:20:30", "a base-60 number"), ("1:234", nil), (":30", nil), ("a:30", nil), ("1::30", nil),
        ("+0755", "an octal number"), ("0", nil), ("0789", nil), ("ON", "the boolean true"), ("oN", nil), ("yess", nil),
    ] as [(String, String?)])
func ambiguousScalars(_ source: String, _ reading: String?) throws {
    let node = try #require(try YAMLLoader.load("v: \(source)\n").root["v"]?.scalar)
    #expect(CoreSchema.yaml11Reading(of: node) == reading)
}

@Test("every node and key carries start and end marks, tag and style")
func positionsOfEveryNode() throws {
    let text = """
        # comment
        metadata:
          name: "restart"
          labels: [a, 'b']
        spec:
          script: |
            echo é
          count: 3
        """
    let document = try YAMLLoader.load(text)
    let root = document.root
    #expect(root.start == Mark(line: 2, column: 1, offset: 10))
    let metadata = try #require(root.entry("metadata"))
    #expect(metadata.key.start == Mark(line: 2, column: 1, offset: 10))
    #expect(metadata.key.end == Mark(line: 2, column: 9, offset: 18))
    #expect(metadata.value.tag == Tag.map)
    let name = try #require(root["metadata"]?["name"])
    #expect(name.start == Mark(line: 3, column: 9, offset: 28))
    #expect(name.end == Mark(line: 3, column: 18, offset: 37))
    #expect(name.scalar?.style == .doubleQuoted)
    let labels = try #require(root["metadata"]?["labels"])
    #expect(labels.tag == Tag.seq)
    #expect(labels.start == Mark(line: 4, column: 11, offset: 48))
    #expect(labels.sequence?[1].start == Mark(line: 4, column: 15, offset: 52))
    #expect(labels.sequence?[1].scalar?.style == .singleQuoted)
    let script = try #require(root["spec"]?["script"])
    #expect(script.scalar?.style == .literal)
    #expect(script.string == "echo é\n")
    let count = try #require(root["spec"]?["count"])
    // Line 8 follows a line holding "é": the column counts characters, the offset counts bytes.
    #expect(count.start == Mark(line: 8, column: 10, offset: 96))
    #expect(document.lines.mark(offset: 96) == count.start)
}

@Test("aliases resolve and merge keys combine mappings, explicit keys winning")
func aliasesAndMerge() throws {
    let text = """
        defaults: &defaults
          timeout: 30
          retries: 2
        extra: &extra
          retries: 5
          owner: sre
        handler:
          <<: [*defaults, *extra]
          timeout: 60
        copy: *defaults
        """
    let root = try YAMLLoader.load(text).root
    let handler = try #require(root["handler"])
    #expect(handler["timeout"]?.scalar?.value == .number(Number(60)))
    #expect(handler["retries"]?.scalar?.value == .number(Number(2)))
    #expect(handler["owner"]?.string == "sre")
    #expect(handler.mapping?.count == 3)
    #expect(root["copy"]?["retries"]?.scalar?.value == .number(Number(2)))
}

@Test("numbers compare exactly")
func exactNumbers() throws {
    #expect(Number(decimal: "1.0") == Number(1))
    #expect(Number(decimal: "9007199254740993")! > Number(decimal: "9007199254740992")!)
    #expect(Number(decimal: "0.3")!.isMultiple(of: Number(decimal: "0.1")!))
    #expect(!Number(decimal: "0.35")!.isMultiple(of: Number(decimal: "0.1")!))
    #expect(Number(decimal: "-1e-8")! < Number(0))
    #expect(Number(decimal: "1e308")! > Number(decimal: "9.99e307")!)
    #expect(Number(decimal: "1.5e-7")?.description == "0.00000015")
    #expect(Number(decimal: "1.5e-30")?.description == "1.5e-30")
    #expect(Number(decimal: "-0.25")?.description == "-0.25")
}

@Test(
    "decimal parsing keeps every digit across the small/big boundary",
    arguments: [
        ("123456789012345678", "123456789012345678"), ("1234567890123456789", "1234567890123456789"),
        ("100000000000000000000001", "100000000000000000000001"), ("000120.500", "120.5"), ("1200", "1200"),
        ("-0.000", "0"), ("1.000000000000000000001", "1.000000000000000000001"), ("9e2", "900"),
    ])
func decimalParsing(_ text: String, _ expected: String) throws {
    #expect(Number(decimal: Substring(text))?.description == expected)
}

@Test(
    "a loader error carries the pointer of where it stopped",
    arguments: [
        ("spec:\n  handlers:\n    - name: a\n      name: b\n", "/spec/handlers/0/name"),
        ("a:\n  b: [1, *x]\n", "/a/b/1"),
        ("x: [1,\n", "/x/1"),
        ("k: 1\nk: 2\n", "/k"),
    ])
func loaderErrorPointer(_ text: String, _ pointer: String) {
    do {
        _ = try YAMLLoader.load(text)
        Issue.record("expected an error")
    } catch {
        #expect(error.pointer == pointer, "\(error)")
    }
}

@Test("the node limit counts each node once, however deep it is")
func nodeLimitCountsEachNodeOnce() throws {
    var limits = LoaderLimits()
    limits.maxNodes = 1_000
    // 300 handlers of three nodes each, two levels down: about 1,000 nodes in all.
    let handlers = (0..<300).map { "  - {name: h\($0)}" }.joined(separator: "\n")
    let text = "spec:\n handlers:\n" + handlers.replacingOccurrences(of: "  - ", with: "  - ") + "\n"
    let document = try YAMLLoader.load(text, limits: limits)
    #expect(document.root["spec"]?["handlers"]?.sequence?.count == 300)
    limits.maxNodes = 900
    #expect(throws: YAMLError.self) { try YAMLLoader.load(text, limits: limits) }
}

@Test("positions and encoding errors stay exact at every alignment of the eight-byte scans", arguments: 0...17)
func wordScanAlignment(_ k: Int) throws {
    let key = String(repeating: "a", count: k + 1)
    let document = try YAMLLoader.load("\(key): é\r\nb: 1\n")
    let value = try #require(document.root["b"])
    // Line 1 is the key, ": ", two bytes of é and CRLF; "b: " puts the value at column 4.
    #expect(value.start == Mark(line: 2, column: 4, offset: key.utf8.count + 2 + 2 + 2 + 3))
    #expect(document.root[key]?.start == Mark(line: 1, column: k + 4, offset: k + 3))
    do {
        _ = try YAMLLoader.load(Array(key.utf8) + [0x3A, 0x20, 0x00])
        Issue.record("a NUL byte must be refused")
    } catch {
        #expect(error.kind == .encoding && error.mark == Mark(line: 1, column: k + 4, offset: k + 3))
    }
    do {
        _ = try YAMLLoader.load(Array(key.utf8) + [0x3A, 0x20, 0xFF])
        Issue.record("an invalid byte must be refused")
    } catch {
        #expect(error.kind == .encoding && error.mark.offset == k + 3)
    }
}
