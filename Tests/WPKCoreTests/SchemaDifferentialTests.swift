import Foundation
import Testing

@testable import WPKCore

/// Random edits of a document, drawing replacement values and new keys from pools.
struct DocumentMutator {
    var values: [String]
    var keys: [String]

    /// Edits of playbooks.
    static let playbook = DocumentMutator(values: playbookValues, keys: playbookKeys)
    /// Edits of schemas (for the metaschema).
    static let schema = DocumentMutator(
        values: [
            "string", "\"integer\"", "[string, null]", "[]", "0", "-1", "2.5", "true", "false", "null", "{}", "{type: nope}",
            "[{}]", "[1]", "\"#/$defs/x\"", "\"#anchor\"", "\"not a uri\"", "{a: {type: string}}", "{a: 1}", "x",
        ],
        keys: [
            "type", "properties", "items", "prefixItems", "minimum", "maxLength", "enum", "const", "required", "$ref",
            "$dynamicRef", "$anchor", "$id", "allOf", "anyOf", "not", "if", "then", "dependentRequired", "pattern",
            "unevaluatedProperties", "contains", "minContains", "$defs", "format", "deprecated", "examples",
        ])

    static let playbookValues: [String] = [
        "x", "\"\"", "manual", "auto", "k8s", "shell", "Restart_Now", "a-b", "0", "-1", "1", "5", "6",
        "10", "11", "3600", "3601", "7200", "1.0", "0.5", "true", "null", "[]", "[a]", "[1]", "{}",
        "{name: ok}", "{max_attempts: 3}", "[{name: a, runtime: shell, timeout: 1}]",
    ]
    static let playbookKeys = [
        "mode", "name", "runtime", "timeout", "namespace", "extra", "on_failure", "retry", "backoff",
        "max_attempts", "command", "handlers", "approvals", "labels", "version",
    ]

    /// Every node's path from the root (as child indices), root included.
    static func paths(_ node: Node, _ prefix: [Int] = []) -> [[Int]] {
        var result = [prefix]
        switch node.content {
        case .scalar: break
        case .sequence(let items): for (i, item) in items.enumerated() { result += paths(item, prefix + [i]) }
        case .mapping(let entries): for (i, entry) in entries.enumerated() { result += paths(entry.value, prefix + [i]) }
        }
        return result
    }

    /// `node` with the subtree at `path` transformed.
    static func edit(_ node: Node, at path: ArraySlice<Int>, _ transform: (Node) -> Node) -> Node {
        guard let first = path.first else { return transform(node) }
        var copy = node
        switch node.content {
        case .scalar: return node
        case .sequence(var items):
            items[first] = edit(items[first], at: path.dropFirst(), transform)
            copy.content = .sequence(items)
        case .mapping(var entries):
            entries[first].value = edit(entries[first].value, at: path.dropFirst(), transform)
            copy.content = .mapping(entries)
        }
        return copy
    }

    func mutate(_ root: Node, _ random: inout SchemaTestRandom) throws -> Node {
        var node = root
        for _ in 0...random.below(3) {
            let targets = DocumentMutator.paths(node)
            let target = targets[random.below(targets.count)]
            let value = try YAMLLoader.load(values[random.below(values.count)]).root
            switch random.below(3) {
            case 0:
                node = DocumentMutator.edit(node, at: target[...]) { _ in value }
            case 1:
                node = DocumentMutator.edit(node, at: target[...]) { parent in
                    guard case .mapping(var entries) = parent.content, !entries.isEmpty else { return parent }
                    entries.remove(at: random.below(entries.count))
                    var copy = parent
                    copy.content = .mapping(entries)
                    return copy
                }
            default:
                let key = keys[random.below(keys.count)]
                node = DocumentMutator.edit(node, at: target[...]) { parent in
                    guard case .mapping(var entries) = parent.content, !entries.contains(where: { $0.keyText == key }) else {
                        return parent
                    }
                    let keyNode = Node(
                        .scalar(Scalar(text: key, style: .plain, value: .string(key))), tag: .str, start: parent.start, end: parent.start)
                    entries.append(MappingEntry(key: keyNode, value: value))
                    var copy = parent
                    copy.content = .mapping(entries)
                    return copy
                }
            }
        }
        return node
    }
}

/// A deterministic generator (SplitMix64), so a failure reproduces.
struct SchemaTestRandom {
    var state: UInt64
    mutating func below(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}

@Suite("Schema validator against Python's jsonschema")
struct SchemaDifferentialTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path + "/Fixtures/schema"

    /// True when python3 with jsonschema is installed (it is on the build machine and in CI).
    static let oracleAvailable: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import jsonschema, referencing"]
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    /// Whether the differential tests must run (in CI): then a missing oracle fails them instead
    /// of skipping them. `.ci/run` installs jsonschema and referencing with pip.
    static let oracleRequired: Bool = {
        let environment = ProcessInfo.processInfo.environment
        return environment["CI"].map { !$0.isEmpty && $0 != "false" } ?? false
    }()

    @Test("the Python reference validator is present (required in CI)")
    func oraclePresent() {
        guard !Self.oracleAvailable else { return }
        print(
            "python3 with jsonschema and referencing is not installed: the differential tests are skipped (pip install jsonschema referencing)"
        )
        #expect(
            !Self.oracleRequired, "CI=true needs the Python reference validator; .ci/run installs it (pip install jsonschema referencing)")
    }

    /// Runs oracle.py with `arguments` on the documents in `input` and returns its verdicts.
    static func oracle(_ arguments: [String], _ input: URL) throws -> [Substring] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        process.standardInput = try FileHandle(forReadingFrom: input)
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let verdicts = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return verdicts
    }

    @Test("500 random edits of a schema: the metaschema check agrees with jsonschema's", .enabled(if: oracleAvailable || oracleRequired))
    func metaschemaAgreesWithJsonschema() throws {
        let original = try YAMLLoader.load([UInt8](FileManager.default.contents(atPath: Self.fixtures + "/playbook.schema.yaml")!)).root
        var random = SchemaTestRandom(state: 1_299)
        var documents: [Node] = []
        for _ in 0..<500 { documents.append(try DocumentMutator.schema.mutate(original, &random)) }
        let inputFile = FileManager.default.temporaryDirectory.appendingPathComponent("wpk-oracle-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: inputFile) }
        try Data((documents.map { JSONValue($0).serialized() }.joined(separator: "\n") + "\n").utf8).write(to: inputFile)
        let verdicts = try Self.oracle([Self.fixtures + "/oracle.py", "--metaschema"], inputFile)
        try #require(verdicts.count == documents.count)
        var invalidCount = 0
        for (document, verdict) in zip(documents, verdicts) {
            let violations = CompiledSchema.metaschema.validate(document)
            let quick = CompiledSchema.metaschema.isValid(document)
            if !quick { invalidCount += 1 }
            #expect(violations.isEmpty == quick, "validate and isValid disagree on \(JSONValue(document).serialized())")
            #expect(
                quick == (verdict == "1"),
                "jsonschema says \(verdict == "1" ? "valid" : "invalid") for \(JSONValue(document).serialized()): \(violations)")
        }
        #expect(invalidCount > 100 && invalidCount < 480)
    }

    @Test(
        "500 random edits of a playbook: same verdict as jsonschema, and validate agrees with isValid",
        .enabled(if: oracleAvailable || oracleRequired))
    func agreesWithJsonschema() throws {
        let schema = try CompiledSchema(contentsOfFile: Self.fixtures + "/playbook.schema.yaml")
        let valid = try YAMLLoader.load([UInt8](FileManager.default.contents(atPath: Self.fixtures + "/valid.wpk.yaml")!)).root
        var random = SchemaTestRandom(state: 20_261_129)
        var documents: [Node] = []
        for _ in 0..<500 { documents.append(try DocumentMutator.playbook.mutate(valid, &random)) }

        // The schemas as JSON files under the same URIs the compiled schema uses.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wpk-oracle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var arguments = [Self.fixtures + "/oracle.py"]
        for name in ["playbook.schema.yaml", "common.schema.yaml"] {
            let node = try YAMLLoader.load([UInt8](FileManager.default.contents(atPath: Self.fixtures + "/" + name)!)).root
            let json = directory.appendingPathComponent(name + ".json")
            try Data(JSONValue(node).serialized().utf8).write(to: json)
            arguments += [CompiledSchema.fileURI(Self.fixtures + "/" + name), json.path]
        }
        let input = documents.map { JSONValue($0).serialized() }.joined(separator: "\n") + "\n"
        let inputFile = directory.appendingPathComponent("documents.jsonl")
        try Data(input.utf8).write(to: inputFile)

        let verdicts = try Self.oracle(arguments, inputFile)
        try #require(verdicts.count == documents.count)

        var invalidCount = 0
        for (document, verdict) in zip(documents, verdicts) {
            let violations = schema.validate(document)
            let quick = schema.isValid(document)
            if !quick { invalidCount += 1 }
            #expect(violations.isEmpty == quick, "validate and isValid disagree on \(JSONValue(document).serialized())")
            #expect(
                quick == (verdict == "1"),
                "jsonschema says \(verdict == "1" ? "valid" : "invalid") for \(JSONValue(document).serialized()): \(violations)")
        }
        // The edits must exercise both outcomes, or the comparison proves little.
        #expect(invalidCount > 100 && invalidCount < 480)
    }
}
