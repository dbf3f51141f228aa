import BigInt
import Foundation
import Testing

@testable import WPKCore

private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path + "/Fixtures/schema"

/// The fixture schema, compiled from its file so `common.schema.yaml` resolves next to it.
private func playbookSchema(assertFormats: Bool = false) throws -> CompiledSchema {
    try CompiledSchema(contentsOfFile: fixtures + "/playbook.schema.yaml", options: .init(assertFormats: assertFormats))
}

private func load(_ text: String) throws -> Node { try YAMLLoader.load(text).root }

private func fixtureText(_ name: String) throws -> String {
    try String(contentsOfFile: fixtures + "/" + name, encoding: .utf8)
}

/// The valid fixture playbook with one line replaced, so each case reads as the edit it makes.
private func validPlaybook(replacing old: String, with new: String) throws -> String {
    let text = try fixtureText("valid.wpk.yaml")
    precondition(text.contains(old), "fixture does not contain \(old)")
    return text.replacingOccurrences(of: old, with: new)
}

/// One expected violation: code, pointer, position and exact message.
struct ExpectedViolation: Equatable, CustomStringConvertible {
    var code: String
    var pointer: String
    var line: Int
    var column: Int
    var message: String

    init(_ code: String, _ pointer: String, _ line: Int, _ column: Int, _ message: String) {
        (self.code, self.pointer, self.line, self.column, self.message) = (code, pointer, line, column, message)
    }

    init(_ violation: SchemaViolation) {
        self.init(violation.code, violation.instancePointer, violation.mark.line, violation.mark.column, violation.message)
    }

    var description: String { "\(code) \(pointer) \(line):\(column) \(message)" }
}

/// An edit of the valid playbook and exactly what the validator must say about it.
struct PlaybookCase: CustomTestStringConvertible, Sendable {
    var name: String
    var old: String
    var new: String
    var expected: [ExpectedViolation]
    var testDescription: String { name }
}

private let playbookCases: [PlaybookCase] = [
    PlaybookCase(
        name: "maximum names the path, limit and value", old: "timeout: 300", new: "timeout: 7200",
        expected: [
            ExpectedViolation("WPK206", "/spec/handlers/1/timeout", 21, 16, "spec.handlers[1].timeout must be at most 3600, got 7200")
        ]),
    PlaybookCase(
        name: "missing required property points at the mapping", old: "      runtime: shell\n", new: "",
        expected: [
            ExpectedViolation("WPK202", "/spec/handlers/2", 25, 7, "spec.handlers[2] is missing the required property \"runtime\"")
        ]),
    PlaybookCase(
        name: "additionalProperties points at the key and suggests", old: "  mode: manual", new: "  modee: manual",
        expected: [
            ExpectedViolation("WPK202", "/spec", 10, 3, "spec is missing the required property \"mode\""),
            ExpectedViolation("WPK203", "/spec/modee", 10, 3, "spec has an unexpected property \"modee\"; did you mean \"mode\"?"),
        ]),
    PlaybookCase(
        name: "unevaluatedProperties through allOf/if/then points at the key", old: "      on_failure: rollback",
        new: "      on_falure: rollback",
        expected: [
            ExpectedViolation(
                "WPK204", "/spec/handlers/1/on_falure", 24, 7,
                "spec.handlers[1] has an unexpected property \"on_falure\"; did you mean \"on_failure\"?")
        ]),
    PlaybookCase(
        name: "type mismatch", old: "approvals: 2", new: "approvals: two",
        expected: [
            ExpectedViolation("WPK201", "/spec/approvals", 11, 14, "spec.approvals must be an integer, got string \"two\"")
        ]),
    PlaybookCase(name: "1.0 is an integer", old: "approvals: 2", new: "approvals: 2.0", expected: []),
    PlaybookCase(
        name: "enum suggests the close value", old: "mode: manual", new: "mode: manaul",
        expected: [
            ExpectedViolation(
                "WPK205", "/spec/mode", 10, 9, "spec.mode must be one of \"manual\" or \"auto\", got \"manaul\"; did you mean \"manual\"?")
        ]),
    PlaybookCase(
        name: "const", old: "kind: WorkflowPackage", new: "kind: Workflow",
        expected: [
            ExpectedViolation("WPK205", "/kind", 2, 7, "kind must be \"WorkflowPackage\", got \"Workflow\"")
        ]),
    PlaybookCase(
        name: "if/then: k8s needs a namespace", old: "      namespace: payments\n      timeout: 300", new: "      timeout: 300",
        expected: [
            ExpectedViolation("WPK202", "/spec/handlers/1", 18, 7, "spec.handlers[1] is missing the required property \"namespace\"")
        ]),
    PlaybookCase(
        name: "oneOf reports the closest branch: a list item", old: "command: [echo, done]", new: "command: [echo, 42]",
        expected: [
            ExpectedViolation(
                "WPK201", "/spec/handlers/2/command/1", 28, 23, "spec.handlers[2].command[1] must be a string, got integer 42")
        ]),
    PlaybookCase(
        name: "oneOf reports the closest branch: the type that matched", old: "command: [echo, done]", new: "command: []",
        expected: [
            ExpectedViolation("WPK209", "/spec/handlers/2/command", 28, 16, "spec.handlers[2].command must have at least 1 item, got 0")
        ]),
    PlaybookCase(
        name: "oneOf with no type matching says which types", old: "command: [echo, done]", new: "command: {run: echo}",
        expected: [
            ExpectedViolation(
                "WPK201", "/spec/handlers/2/command", 28, 16, "spec.handlers[2].command must be a string or a list, got a mapping")
        ]),
    PlaybookCase(
        name: "pattern through a file reference", old: "name: restart\n", new: "name: Restart_Now\n",
        expected: [
            ExpectedViolation(
                "WPK207", "/spec/handlers/1/name", 18, 13,
                "spec.handlers[1].name must match the pattern ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$, got \"Restart_Now\"")
        ]),
    PlaybookCase(name: "multipleOf on decimals does not drift", old: "backoff: 0.3", new: "backoff: 0.7", expected: []),
    PlaybookCase(
        name: "multipleOf failure", old: "backoff: 0.3", new: "backoff: 0.35",
        expected: [
            ExpectedViolation(
                "WPK206", "/spec/handlers/1/retry/backoff", 22, 41, "spec.handlers[1].retry.backoff must be a multiple of 0.1, got 0.35")
        ]),
    PlaybookCase(
        name: "quoted keys in paths", old: "    team: platform", new: "    app.kubernetes.io/name: 7",
        expected: [
            ExpectedViolation(
                "WPK201", "/metadata/labels/app.kubernetes.io~1name", 8, 29,
                "metadata.labels[\"app.kubernetes.io/name\"] must be a string, got integer 7")
        ]),
    PlaybookCase(
        name: "hostile keys are escaped in messages", old: "  approvals: 2\n", new: "  \"appr\\u202Eovals\\e[2J\": 2\n",
        expected: [
            ExpectedViolation(
                "WPK203", "/spec/appr\u{202E}ovals\u{1B}[2J", 11, 3,
                "spec has an unexpected property \"appr\\u202Eovals\\u001B[2J\" (allowed: approvals, handlers, mode)")
        ]),
    PlaybookCase(
        name: "propertyNames points at the key", old: "    team: platform", new: "    \(String(repeating: "k", count: 64)): x",
        expected: [
            ExpectedViolation(
                "WPK210", "/metadata/labels/" + String(repeating: "k", count: 64), 8, 5,
                "property name: metadata.labels.\(String(repeating: "k", count: 64)) must be at most 63 characters long, got 64")
        ]),
    PlaybookCase(
        name: "several problems all reported", old: "  approvals: 2\n  handlers:",
        new: "  approvals: 9\n  handlers:\n    - {name: x, runtime: podman, timeout: 0}",
        expected: [
            ExpectedViolation("WPK206", "/spec/approvals", 11, 14, "spec.approvals must be at most 5, got 9"),
            ExpectedViolation(
                "WPK205", "/spec/handlers/0/runtime", 13, 26,
                "spec.handlers[0].runtime must be one of \"k8s\", \"docker\" or \"shell\", got \"podman\""),
            ExpectedViolation("WPK206", "/spec/handlers/0/timeout", 13, 43, "spec.handlers[0].timeout must be at least 1, got 0"),
        ]),
]

@Suite("Schema validator")
struct SchemaValidatorTests {
    @Test("the valid fixture playbook has no violations")
    func validPlaybookPasses() throws {
        let schema = try playbookSchema(assertFormats: true)
        let document = try load(try fixtureText("valid.wpk.yaml"))
        #expect(schema.validate(document) == [])
        #expect(schema.isValid(document))
    }

    @Test("violations carry code, pointer, position and message", arguments: playbookCases)
    func playbookViolation(_ testCase: PlaybookCase) throws {
        let schema = try playbookSchema()
        let document = try load(try validPlaybook(replacing: testCase.old, with: testCase.new))
        let found = schema.validate(document).map(ExpectedViolation.init)
        #expect(found == testCase.expected)
        #expect(schema.isValid(document) == testCase.expected.isEmpty)
    }

    @Test("a violation becomes a schema diagnostic with the keyword location")
    func diagnostic() throws {
        let schema = try playbookSchema()
        let violation = try #require(schema.validate(try load(try validPlaybook(replacing: "timeout: 300", with: "timeout: 7200"))).first)
        #expect(violation.keywordLocation == "#/$defs/handler/properties/timeout/maximum")
        let diagnostic = violation.diagnostic
        #expect(
            diagnostic
                == Diagnostic(
                    severity: .error, code: "WPK206", source: .schema,
                    message: "spec.handlers[1].timeout must be at most 3600, got 7200",
                    pointer: "/spec/handlers/1/timeout", mark: Mark(line: 21, column: 16, offset: violation.mark.offset)))
        #expect(
            violation.mark.offset
                == Array(try validPlaybook(replacing: "timeout: 300", with: "timeout: 7200").utf8).firstRange(of: Array("7200".utf8))?
                .lowerBound)
    }

    @Test("format is an annotation unless asserted")
    func formatAssertionIsOptIn() throws {
        let document = try load(try validPlaybook(replacing: "owner: sre@example.com", with: "owner: sre at example"))
        #expect(try playbookSchema().validate(document) == [])
        let found = try playbookSchema(assertFormats: true).validate(document).map(ExpectedViolation.init)
        #expect(
            found == [ExpectedViolation("WPK208", "/metadata/owner", 6, 10, "metadata.owner must be a valid email, got \"sre at example\"")]
        )
    }

    @Test("numbers compare exactly past 2^53 and across notations")
    func exactNumbers() throws {
        let schema = try CompiledSchema(try load("{maximum: 9007199254740993, multipleOf: 0.01}"))
        #expect(schema.isValid(try load("9007199254740993")))
        #expect(!schema.isValid(try load("9007199254740994")))
        #expect(schema.isValid(try load("0.07")))
        #expect(schema.isValid(try load("1.1e1")))
        #expect(!schema.isValid(try load("0.005")))
        let constant = try CompiledSchema(try load("{const: {a: [1, 2.50]}}"))
        #expect(constant.isValid(try load("{a: [1.0, 2.5]}")))
        #expect(!constant.isValid(try load("{a: [1.0, 2.51]}")))
    }

    @Test("uniqueItems compares JSON values, not spellings")
    func uniqueItems() throws {
        let schema = try CompiledSchema(try load("{uniqueItems: true}"))
        let found = schema.validate(try load("[1, {a: 1, b: 2}, 1.0]")).map(ExpectedViolation.init)
        #expect(found == [ExpectedViolation("WPK209", "/2", 1, 19, "[2] repeats item 0 of the document; items must be unique")])
        #expect(schema.isValid(try load("[\"1\", 1, {b: 2, a: 1}, {a: 1}]")))
        // Precomposed and decomposed é are different JSON strings.
        #expect(schema.isValid(try load("[\"\u{E9}\", \"e\u{301}\"]")))
    }

    @Test("maxLength counts code points")
    func codePoints() throws {
        let schema = try CompiledSchema(try load("{maxLength: 2}"))
        #expect(schema.isValid(try load("\"💩💩\"")))
        #expect(!schema.isValid(try load("\"e\u{301}e\"")))
    }

    @Test("references resolve through the caller's map without touching the network")
    func explicitDocumentMap() throws {
        let common = try load("$defs: {port: {type: integer, maximum: 65535}}")
        let root = try load("$id: https://schemas.example/app.yaml\nproperties: {port: {$ref: common.yaml#/$defs/port}}")
        let schema = try CompiledSchema(root, documents: ["https://schemas.example/common.yaml": common], options: .init(readFiles: false))
        let found = schema.validate(try load("port: 70000")).map(ExpectedViolation.init)
        #expect(found == [ExpectedViolation("WPK206", "/port", 1, 7, "port must be at most 65535, got 70000")])
        #expect(
            schema.validate(try load("port: 70000")).first?.keywordLocation == "https://schemas.example/common.yaml#/$defs/port/maximum")
    }

    @Test("a document in the caller's map is found by its $id too")
    func documentFoundByIdentifier() throws {
        let common = try load("$id: https://schemas.example/shared/v1\n$defs: {name: {type: string, maxLength: 3}}")
        let root = try load("properties: {name: {$ref: \"https://schemas.example/shared/v1#/$defs/name\"}}")
        let schema = try CompiledSchema(root, documents: ["file:///tmp/downloaded.yaml": common], options: .init(readFiles: false))
        #expect(schema.validate(try load("name: abcd")).map(\.message) == ["name must be at most 3 characters long, got 4"])
    }

    @Test("a referenced document from the caller's map is checked against the metaschema")
    func referencedDocumentChecked() throws {
        let common = try load("$defs: {name: {type: strng}}")
        let root = try load("$id: https://schemas.example/app\nproperties: {name: {$ref: \"common#/$defs/name\"}}")
        #expect(throws: SchemaError.self) {
            try CompiledSchema(root, documents: ["https://schemas.example/common": common], options: .init(readFiles: false))
        }
    }

    @Test("a reference to an unknown document is an error naming its position")
    func unresolvedReference() throws {
        let root = try load("type: object\nproperties:\n  a: {$ref: \"https://elsewhere.example/x.json\"}\n")
        #expect {
            _ = try CompiledSchema(root, options: .init(readFiles: false))
        } throws: { error in
            let error = error as! SchemaError
            return error.mark?.description == "3:13" && error.message.contains("https://elsewhere.example/x.json")
                && error.message.contains("never uses the network") && error.location == "#/properties/a"
        }
        #expect(throws: SchemaError.self) { try CompiledSchema(contentsOfFile: fixtures + "/dangling-ref.schema.yaml") }
    }

    @Test("a schema that breaks the metaschema is refused with every position")
    func brokenSchema() throws {
        do {
            _ = try CompiledSchema(contentsOfFile: fixtures + "/broken.schema.yaml")
            Issue.record("broken schema compiled")
        } catch {
            let found = error.diagnostics.map { "\($0.mark!.line):\($0.mark!.column) \($0.code) \($0.pointer)" }
            #expect(found == ["5:11 WPK205 /properties/timeout/type", "6:14 WPK201 /properties/timeout/minimum"])
            #expect(error.mark?.description == "5:11")
            #expect(error.message.contains("got \"integr\"; did you mean \"integer\"?"))
            #expect(error.diagnostics.allSatisfy { $0.source == .schema && $0.message.hasPrefix("schema: ") })
            #expect(error.description.contains("5:11"))
        }
    }

    @Test("an invalid regular expression is refused at compile time")
    func invalidPattern() throws {
        #expect(throws: SchemaError.self) { try CompiledSchema(try load("pattern: \"^(abc]\"")) }
    }

    @Test("self-referencing and exponential schemas stop at the limits instead of hanging")
    func hostileSchemas() throws {
        let loop = try CompiledSchema(try load("$defs: {a: {$ref: \"#/$defs/a\"}}\n$ref: \"#/$defs/a\"\n"))
        let found = loop.validate(try load("1"))
        #expect(found.map(\.code) == ["WPK213"])
        #expect(!loop.isValid(try load("1")))
        // Each level doubles the work: 2^40 evaluations without the step limit.
        var text = "$defs:\n  l0: {type: string}\n"
        for level in 1...40 { text += "  l\(level): {anyOf: [{$ref: \"#/$defs/l\(level - 1)\"}, {$ref: \"#/$defs/l\(level - 1)\"}]}\n" }
        text += "$ref: \"#/$defs/l40\"\n"
        let exponential = try CompiledSchema(try load(text))
        #expect(!exponential.isValid(try load("1")))
    }

    @Test("the deepest document the loader allows validates against a recursive schema")
    func deepDocument() throws {
        let schema = try CompiledSchema(try load("$id: urn:tree\ntype: array\nitems: {$ref: urn:tree}\n"))
        let deep = String(repeating: "[", count: 255) + String(repeating: "]", count: 255)
        #expect(schema.isValid(try load(deep)))
        let bad = String(repeating: "[", count: 255) + "1" + String(repeating: "]", count: 255)
        #expect(schema.validate(try load(bad)).map(\.code) == ["WPK201"])
    }

    @Test("the carried metaschema equals the shared copy and the embedded text")
    func metaschemaCopy() throws {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let shared = packageRoot + "/../shared/schemas/json-schema-2020-12"
        #expect(EmbeddedMetaschema.files.count == 9)
        for (uri, file) in EmbeddedMetaschema.files {
            let carried = try String(contentsOfFile: packageRoot + "/specs/metaschema/" + file, encoding: .utf8)
            #expect(
                EmbeddedMetaschema.documents[uri].map { $0 + "\n" } == carried || EmbeddedMetaschema.documents[uri] == carried,
                "embedded \(uri) differs from specs/metaschema/\(file); run scripts/embed-metaschema.py")
            if FileManager.default.fileExists(atPath: shared) {
                let original = try String(contentsOfFile: shared + "/" + file, encoding: .utf8)
                #expect(original == carried, "specs/metaschema/\(file) differs from ../shared; run scripts/embed-metaschema.py")
            }
        }
    }

    @Test("did-you-mean uses a small edit distance")
    func suggestions() {
        #expect(SchemaMessages.closest("timout", among: ["timeout", "retry"]) == "timeout")
        #expect(SchemaMessages.closest("rnutime", among: ["runtime"]) == "runtime")
        #expect(SchemaMessages.closest("zzz", among: ["timeout"]) == nil)
    }
}

@Suite("Schema validator, shared across threads")
struct SchemaConcurrencyTests {
    @Test("one compiled schema validates on many tasks at once with the same results")
    func concurrentValidation() async throws {
        let schema = try playbookSchema(assertFormats: true)
        let texts = [
            try fixtureText("valid.wpk.yaml"),
            try validPlaybook(replacing: "timeout: 300", with: "timeout: 7200"),
            try validPlaybook(replacing: "name: restart\n", with: "name: Restart_Now\n"),
            try validPlaybook(replacing: "mode: manual", with: "mode: manaul"),
        ]
        let documents = try texts.map(load)
        let expected = documents.map { schema.validate($0).map(ExpectedViolation.init) }
        let results = await withTaskGroup(of: (Int, [ExpectedViolation]).self) { group in
            for round in 0..<64 {
                let index = round % documents.count
                let document = documents[index]
                group.addTask { (index, schema.validate(document).map(ExpectedViolation.init)) }
            }
            var collected: [(Int, [ExpectedViolation])] = []
            for await result in group { collected.append(result) }
            return collected
        }
        #expect(results.count == 64)
        for (index, found) in results { #expect(found == expected[index]) }
        #expect(expected.map(\.count) == [0, 1, 1, 1])
    }

    @Test("a separate copy shares no program with the original and finds the same violations")
    func separateCopy() throws {
        let schema = try playbookSchema(assertFormats: true)
        let copy = try #require(schema.separateCopy())
        #expect(copy.program !== schema.program)
        #expect(copy.baseURI == schema.baseURI)
        let texts = [
            try fixtureText("valid.wpk.yaml"),
            try validPlaybook(replacing: "timeout: 300", with: "timeout: 7200"),
            try validPlaybook(replacing: "name: restart\n", with: "name: Restart_Now\n"),
            try validPlaybook(replacing: "mode: manual", with: "mode: manaul"),
        ]
        var found = 0
        for document in try texts.map(load) {
            let violations = copy.validate(document).map(ExpectedViolation.init)
            #expect(violations == schema.validate(document).map(ExpectedViolation.init))
            found += violations.count
        }
        #expect(found == 3, "the copy still reports the pattern, maximum and enum violations")
    }
}

@Suite("Schema number fast paths")
struct SchemaNumberTests {
    static let samples = [
        "0", "1", "-1", "1.0", "0.1", "0.3", "-0.35", "3600", "7200", "1e2", "1.5e-3", "9223372036854775807",
        "9223372036854775808", "-9223372036854775808", "92233720368547758.07", "1e18", "1e19", "1e-18",
        "123456789012345678901234567890", "0.000000000000000000001", "2.5", "25", "1e300", "-1e300",
        "0.5", "0.25", "0.05", "1.28e-40", "3e25", "7e30", "6.25e-30", "1e-300", "4096e-25",
    ]

    /// Both numbers as BigInt significands over their common exponent: the plain, slow reference.
    static func alignedReference(_ a: Number, _ b: Number) -> (BigInt, BigInt) {
        let common = min(a.exponent, b.exponent)
        return (a.significand * BigInt(10).power(a.exponent - common), b.significand * BigInt(10).power(b.exponent - common))
    }

    @Test("the machine-integer and bounded paths agree with plain BigInt arithmetic")
    func compareAgrees() throws {
        let numbers = try Self.samples.map { try #require(Number(decimal: Substring($0))) }
        for a in numbers {
            for b in numbers {
                let (l, r) = Self.alignedReference(a, b)
                #expect(Number.compare(a, b) == (l == r ? 0 : (l < r ? -1 : 1)), "\(a) vs \(b)")
                #expect(a.isMultiple(of: b) == (!b.isZero && (l % r).isZero), "\(a) multiple of \(b)")
            }
        }
    }

    @Test("multipleOf with exponents at the loader's limit stays exact and cheap")
    func extremeExponents() throws {
        let tenth = try #require(Number(decimal: "0.1"))
        #expect(!(try #require(Number(decimal: "1e-99999"))).isMultiple(of: tenth))
        #expect((try #require(Number(decimal: "1e99999"))).isMultiple(of: try #require(Number(decimal: "0.5"))))
        #expect(!(try #require(Number(decimal: "1e99999"))).isMultiple(of: try #require(Number(decimal: "7"))))
        #expect((try #require(Number(decimal: "7e99999"))).isMultiple(of: try #require(Number(decimal: "0.7"))))
        #expect((try #require(Number(decimal: "1e99999"))).isMultiple(of: try #require(Number(decimal: "1.6e-99998"))))
        #expect(!(try #require(Number(decimal: "1e99999"))).isMultiple(of: try #require(Number(decimal: "3e-99999"))))
    }
}

/// A pattern, a string, and whether ECMA-262 says the pattern matches it (nil: invalid pattern).
struct PatternCase: CustomTestStringConvertible, Sendable {
    var pattern: String
    var text: String
    var matches: Bool?
    var testDescription: String { "/\(pattern)/ on \(text.debugDescription)" }
}

@Suite("Schema patterns follow ECMA-262")
struct SchemaPatternTests {
    static let cases: [PatternCase] = [
        PatternCase(pattern: #"^\d+$"#, text: "123", matches: true),
        PatternCase(pattern: #"^\d+$"#, text: "١٢٣", matches: false),  // \d is ASCII only
        PatternCase(pattern: #"^\d+$"#, text: "123\n", matches: false),  // $ is the end of input
        PatternCase(pattern: #"^\w+$"#, text: "café", matches: false),
        PatternCase(pattern: #"^\s$"#, text: "\u{FEFF}", matches: true),  // ECMA whitespace includes BOM
        PatternCase(pattern: #"^[\d-]+$"#, text: "1-2", matches: true),
        PatternCase(pattern: #"a[]"#, text: "a", matches: false),  // [] matches nothing
        PatternCase(pattern: #"^[^]$"#, text: "\n", matches: true),  // [^] matches anything
        PatternCase(pattern: #"^[[]$"#, text: "[", matches: true),  // [ is literal in a class
        PatternCase(pattern: #"^\p{Letter}+$"#, text: "Ünïcödé", matches: true),
        PatternCase(pattern: #"(?<year>\d{4})-\k<year>"#, text: "2024-2024", matches: true),
        PatternCase(pattern: #"\a"#, text: "a", matches: nil),
        PatternCase(pattern: #"(?i)abc"#, text: "ABC", matches: nil),
        PatternCase(pattern: #"(?P<n>x)"#, text: "x", matches: nil),
        PatternCase(pattern: #"(?#note)a"#, text: "a", matches: nil),
        PatternCase(pattern: #"^(abc]"#, text: "abc", matches: nil),
    ]

    @Test("pattern semantics", arguments: cases)
    func pattern(_ testCase: PatternCase) throws {
        var quoted = ""
        JSONValue.writeString(testCase.pattern, to: &quoted)
        let schemaNode = try load("{pattern: \(quoted)}")
        guard let expected = testCase.matches else {
            #expect(throws: SchemaError.self) { try CompiledSchema(schemaNode) }
            #expect(!SchemaFormats.check("regex", testCase.pattern))
            return
        }
        #expect(SchemaFormats.check("regex", testCase.pattern))
        let schema = try CompiledSchema(schemaNode)
        var text = ""
        JSONValue.writeString(testCase.text, to: &text)
        #expect(schema.isValid(try load(text)) == expected)
    }
}

@Suite("Malformed schemas")
struct MalformedSchemaTests {
    /// Odd schemas, most of which the metaschema refuses; compiled anyway (metaschema check off),
    /// each either compiles or throws a SchemaError, and none may crash.
    static let schemas = [
        "{type: 5}", "{type: [string, 5, nope]}", "{items: [1, 2]}", "{properties: []}", "{properties: {a: 5}}",
        "{$ref: 5}", "{required: a}", "{required: [1, {}]}", "{minLength: -1}", "{minLength: 1e400}", "{maxItems: 2.5}",
        "{multipleOf: 0}", "{multipleOf: -2}", "{enum: 5}", "{const: null}", "{$id: \"::::\"}", "{$anchor: 5}",
        "{$defs: {a: {$anchor: x}}, $ref: \"#x\"}", "{allOf: {}}", "{anyOf: []}", "{oneOf: [true, true]}",
        "{dependentRequired: {a: b}}", "{dependentSchemas: []}", "{if: 1}", "{contains: false, minContains: 0}",
        "{prefixItems: [false], items: false}", "{unevaluatedItems: {}, unevaluatedProperties: 3}",
        "{$dynamicRef: \"#meta\", $defs: {m: {$dynamicAnchor: meta, type: string}}}", "{propertyNames: false}",
        "{$schema: \"https://example.invalid/unknown\", type: string}", "{format: 12}", "{pattern: 12}",
    ]
    /// References that go nowhere or into non-schemas: a SchemaError, never a crash.
    static let unresolvable = [
        "{$ref: \"#/$defs/%ZZ\"}", "{$ref: \"#/items/-1\"}", "{$ref: \"#nowhere\"}",
        "{$ref: \"#/type\", type: string}", "{patternProperties: {\"(\": {}}}", "{pattern: \"(?i)x\"}",
        "{$dynamicRef: \"https://x.invalid/s#a\"}",
    ]
    /// Schemas the metaschema must refuse.
    static let refused = [
        "{type: 5}", "{items: [1, 2]}", "{properties: []}", "{$ref: 5}", "{required: a}", "{minLength: -1}",
        "{multipleOf: 0}", "{enum: 5}", "{allOf: {}}", "{anyOf: []}", "{if: 1}", "{format: 12}", "{pattern: 12}",
        "{properties: {a: 5}}", "{maxItems: 2.5}",
    ]
    static let instances = ["null", "true", "0", "-1.5", "\"text\"", "[]", "[1, [2], {a: 3}]", "{a: 1, b: [x]}"]

    @Test("refused by the metaschema", arguments: refused)
    func refusedByMetaschema(_ text: String) throws {
        #expect(throws: SchemaError.self) { try CompiledSchema(try load(text)) }
    }

    @Test("compiled without the metaschema check: a SchemaError or a working schema, never a crash", arguments: schemas)
    func malformed(_ text: String) throws {
        let node = try load(text)
        let schema: CompiledSchema
        do {
            schema = try CompiledSchema(node, options: .init(checkMetaschema: false, readFiles: false))
        } catch {
            #expect(!error.message.isEmpty)
            return
        }
        for instance in Self.instances {
            let document = try load(instance)
            #expect(schema.validate(document).isEmpty == schema.isValid(document), "\(instance)")
        }
    }

    @Test("unresolvable references are compile errors", arguments: unresolvable)
    func unresolvableReference(_ text: String) throws {
        #expect(throws: SchemaError.self) { try CompiledSchema(try load(text), options: .init(checkMetaschema: false, readFiles: false)) }
    }
}

@Suite("URI reference resolution (RFC 3986 section 5.4)")
struct URIReferenceTests {
    static let base = "http://a/b/c/d;p?q"
    static let examples: [(String, String)] = [
        ("g:h", "g:h"), ("g", "http://a/b/c/g"), ("./g", "http://a/b/c/g"), ("g/", "http://a/b/c/g/"), ("/g", "http://a/g"),
        ("//g", "http://g"), ("?y", "http://a/b/c/d;p?y"), ("g?y", "http://a/b/c/g?y"), ("#s", "http://a/b/c/d;p?q#s"),
        ("g#s", "http://a/b/c/g#s"), ("g?y#s", "http://a/b/c/g?y#s"), (";x", "http://a/b/c/;x"), ("g;x", "http://a/b/c/g;x"),
        ("g;x?y#s", "http://a/b/c/g;x?y#s"), ("", "http://a/b/c/d;p?q"), (".", "http://a/b/c/"), ("./", "http://a/b/c/"),
        ("..", "http://a/b/"), ("../", "http://a/b/"), ("../g", "http://a/b/g"), ("../..", "http://a/"), ("../../", "http://a/"),
        ("../../g", "http://a/g"),
        // Abnormal examples.
        ("../../../g", "http://a/g"), ("../../../../g", "http://a/g"), ("/./g", "http://a/g"), ("/../g", "http://a/g"),
        ("g.", "http://a/b/c/g."), (".g", "http://a/b/c/.g"), ("g..", "http://a/b/c/g.."), ("..g", "http://a/b/c/..g"),
        ("./../g", "http://a/b/g"), ("./g/.", "http://a/b/c/g/"), ("g/./h", "http://a/b/c/g/h"), ("g/../h", "http://a/b/c/h"),
        ("g;x=1/./y", "http://a/b/c/g;x=1/y"), ("g;x=1/../y", "http://a/b/c/y"), ("g?y/./x", "http://a/b/c/g?y/./x"),
        ("g?y/../x", "http://a/b/c/g?y/../x"), ("g#s/./x", "http://a/b/c/g#s/./x"), ("g#s/../x", "http://a/b/c/g#s/../x"),
        ("http:g", "http:g"),
    ]

    @Test("every example of RFC 3986 section 5.4 resolves as the RFC says")
    func rfcExamples() {
        for (reference, expected) in Self.examples {
            #expect(URIReference.resolve(reference, against: Self.base) == expected, "\(reference)")
        }
    }

    @Test("URNs and fragments, as schema identifiers use them")
    func schemaIdentifiers() {
        #expect(
            URIReference.resolve("#/$defs/a", against: "urn:uuid:deadbeef-1234-ffff-ffff-4321feebdaed")
                == "urn:uuid:deadbeef-1234-ffff-ffff-4321feebdaed#/$defs/a")
        #expect(
            URIReference.resolve("common.yaml#/$defs/x", against: "file:///etc/wpk/schema.yaml") == "file:///etc/wpk/common.yaml#/$defs/x")
        #expect(URIReference.split("https://x/s.json#/a/b") == ("https://x/s.json", "/a/b"))
    }
}
