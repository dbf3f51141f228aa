import Foundation
import Testing

@testable import WPKCore

/// The official JSON-Schema-Test-Suite (draft 2020-12), read from `WPK_SCHEMA_SUITE` or
/// `../shared/testsuites/JSON-Schema-Test-Suite` next to the package root.
enum OfficialSuite {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static let root: String = {
        if let configured = ProcessInfo.processInfo.environment["WPK_SCHEMA_SUITE"], !configured.isEmpty { return configured }
        return URL(fileURLWithPath: packageRoot + "/../shared/testsuites/JSON-Schema-Test-Suite").standardizedFileURL.path
    }()

    static var draft: String { root + "/tests/draft2020-12" }
    static var isPresent: Bool { FileManager.default.fileExists(atPath: draft) }

    /// The suite's JSON files in a folder (not recursive), sorted.
    static func files(in folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted()
    }

    /// Reads suite JSON exactly with the YAML loader (numbers keep their decimal text). libyaml
    /// 0.2.5 refuses surrogate-pair escapes such as `\uD83D\uDCA9`, which four files hold; those
    /// pairs are decoded to the character they encode first, which is the same JSON value.
    static func load(_ path: String) throws -> Node {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try YAMLLoader.load(decodingSurrogatePairs(text)).root
    }

    static func decodingSurrogatePairs(_ text: String) -> String {
        guard text.contains("\\uD") || text.contains("\\ud") else { return text }
        let pattern = try! NSRegularExpression(pattern: #"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})"#)
        var result = ""
        var last = text.startIndex
        for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            let whole = Range(match.range, in: text)!
            let high = UInt32(text[Range(match.range(at: 1), in: text)!], radix: 16)!
            let low = UInt32(text[Range(match.range(at: 2), in: text)!], radix: 16)!
            let scalar = Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
            result += text[last..<whole.lowerBound]
            result.unicodeScalars.append(scalar)
            last = whole.upperBound
        }
        return result + text[last...]
    }

    /// `remotes/` served as `http://localhost:1234/`.
    static let remotes: [String: Node] = {
        var map: [String: Node] = [:]
        let base = root + "/remotes"
        guard let walker = FileManager.default.enumerator(atPath: base) else { return map }
        for case let relative as String in walker where relative.hasSuffix(".json") {
            if let node = try? load(base + "/" + relative) { map["http://localhost:1234/" + relative] = node }
        }
        return map
    }()

    /// One test case's outcome.
    struct Outcome {
        var passed = 0
        var failures: [String] = []
    }

    /// Runs every case of one suite file.
    static func run(file path: String, assertFormats: Bool) throws -> Outcome {
        var outcome = Outcome()
        guard let groups = try load(path).sequence else { throw SchemaError("not a list of groups", location: path, mark: nil) }
        for group in groups {
            let description = group["description"]?.string ?? "?"
            guard let schemaNode = group["schema"], let tests = group["tests"]?.sequence else { continue }
            let schema: CompiledSchema
            do {
                schema = try CompiledSchema(schemaNode, documents: remotes, options: .init(assertFormats: assertFormats, readFiles: false))
            } catch {
                outcome.failures.append("\(description): schema does not compile: \(error)")
                continue
            }
            for test in tests {
                guard let data = test["data"], case .bool(let expected)? = test["valid"]?.scalar?.value else { continue }
                let violations = schema.validate(data)
                let quick = schema.isValid(data)
                if violations.isEmpty == expected && quick == expected {
                    outcome.passed += 1
                } else {
                    let detail = violations.prefix(3).map(\.description).joined(separator: "; ")
                    outcome.failures.append(
                        "\(description) / \(test["description"]?.string ?? "?"): expected \(expected ? "valid" : "invalid"), validate gave \(violations.count) violations, isValid gave \(quick) \(detail)"
                    )
                }
            }
        }
        return outcome
    }
}

@Suite("JSON-Schema-Test-Suite draft 2020-12")
struct SchemaSuiteTests {
    @Test("suite folder is present (required in CI)")
    func suiteIsPresent() {
        if !OfficialSuite.isPresent {
            print("JSON-Schema-Test-Suite not found at \(OfficialSuite.draft); the suite tests are skipped (set WPK_SCHEMA_SUITE)")
            let environment = ProcessInfo.processInfo.environment
            #expect(
                environment["CI"] == nil && environment["WPK_REQUIRE_SCHEMA_SUITE"] == nil,
                "the JSON Schema test suite must be present in CI (WPK_SCHEMA_SUITE=\(OfficialSuite.root))")
        }
    }

    @Test("required case file passes 100%", .enabled(if: OfficialSuite.isPresent), arguments: OfficialSuite.files(in: OfficialSuite.draft))
    func requiredFile(_ name: String) throws {
        let outcome = try OfficialSuite.run(file: OfficialSuite.draft + "/" + name, assertFormats: false)
        let expectedCases = try OfficialSuite.load(OfficialSuite.draft + "/" + name).sequence?.reduce(0) {
            $0 + ($1["tests"]?.sequence?.count ?? 0)
        }
        #expect(outcome.passed + outcome.failures.count == expectedCases, "every case of \(name) ran")
        print("\(name): \(outcome.passed) cases passed, \(outcome.failures.count) failed")
        for failure in outcome.failures { Issue.record("\(name): \(failure)") }
    }

    /// The formats `assertFormats` checks; each must pass its optional/format file entirely.
    static let assertedFormats = [
        "date-time", "date", "time", "duration", "email", "hostname", "ipv4", "ipv6",
        "uri", "uri-reference", "uuid", "regex", "json-pointer",
    ]

    @Test("asserted format passes its optional/format file", .enabled(if: OfficialSuite.isPresent), arguments: assertedFormats)
    func assertedFormat(_ format: String) throws {
        #expect(SchemaFormats.isAsserted(format))
        let outcome = try OfficialSuite.run(file: OfficialSuite.draft + "/optional/format/\(format).json", assertFormats: true)
        #expect(outcome.passed > 0)
        for failure in outcome.failures { Issue.record("\(format): \(failure)") }
    }

    @Test("optional files: counts reported", .enabled(if: OfficialSuite.isPresent))
    func optionalCounts() throws {
        var lines: [String] = []
        var total = (passed: 0, failed: 0)
        let optional = OfficialSuite.draft + "/optional"
        let files =
            OfficialSuite.files(in: optional).map { "optional/" + $0 }
            + OfficialSuite.files(in: optional + "/format").map { "optional/format/" + $0 }
        for file in files {
            let outcome = try OfficialSuite.run(file: OfficialSuite.draft + "/" + file, assertFormats: file.hasPrefix("optional/format/"))
            total.passed += outcome.passed
            total.failed += outcome.failures.count
            lines.append("\(file): \(outcome.passed) passed, \(outcome.failures.count) failed")
            if ProcessInfo.processInfo.environment["WPK_SUITE_VERBOSE"] != nil {
                lines.append(contentsOf: outcome.failures.map { "    " + $0 })
            }
        }
        print(
            "JSON-Schema-Test-Suite optional (draft 2020-12): \(total.passed) passed, \(total.failed) failed\n"
                + lines.joined(separator: "\n"))
        #expect(total.passed > 0)
    }
}
