import Foundation
import Testing

@Suite("formats and metaschemas from the command line")
struct FormatAssertionTests {
    @Test("a WPK input pattern that is not a regular expression is an error where it is written, with the reason")
    func badPatternInAPlaybook() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try exampleText("restart-unhealthy")
        let line = try #require(text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("pattern: ") })
        let original = String(text.split(separator: "\n", omittingEmptySubsequences: false)[line])
        let broken = String(original.prefix { $0 != ":" }) + ": \"^[a-z(\""
        try writeFiles(["bad.wpk.yaml": text.replacingOccurrences(of: original, with: broken)], in: dir)
        let path = dir.appendingPathComponent("bad.wpk.yaml").path
        let column = broken.distance(from: broken.startIndex, to: broken.firstIndex(of: "\"")!) + 1
        let validate = try runWPK(["validate", path])
        #expect(validate.status == 1)
        #expect(validate.standardOutput.contains("bad.wpk.yaml:\(line + 1):\(column): error: "), "\(validate.standardOutput)")
        #expect(
            validate.standardOutput.contains("must be a valid regex, got \"^[a-z(\": expected ']' [WPK208]"), "\(validate.standardOutput)")
        // The planner reports the same problem, never a value that "does not match its pattern".
        let plan = try runWPK(["plan", "--set", "deployment=checkout", "--set", "app_label=checkout", path])
        #expect(plan.status == 1)
        #expect(plan.standardOutput.contains("[WPK208]") && !plan.standardOutput.contains("does not match"), "\(plan.standardOutput)")
    }

    @Test("--assert-formats asserts every format of any schema; without it formats only annotate")
    func assertFormatsFlag() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeFiles(
            [
                "s.yaml": "type: object\nproperties:\n  when: {format: date}\n  mail: {format: email}\n",
                "d.yaml": "when: 2024-13-45\nmail: nobody\n",
            ], in: dir)
        let arguments = [
            "validate", "--schema-only", "--schema", dir.appendingPathComponent("s.yaml").path, dir.appendingPathComponent("d.yaml").path,
        ]
        #expect(try runWPK(arguments).status == 0)
        let asserted = try runWPK(Array(arguments.prefix(2)) + ["--assert-formats"] + arguments.dropFirst(2))
        #expect(asserted.status == 1)
        #expect(
            asserted.standardOutput.contains("d.yaml:1:7: error: when must be a valid date, got \"2024-13-45\" [WPK208]"),
            "\(asserted.standardOutput)")
        #expect(
            asserted.standardOutput.contains("d.yaml:2:7: error: mail must be a valid email, got \"nobody\" [WPK208]"),
            "\(asserted.standardOutput)")
    }

    @Test("a $schema naming a metaschema file is read and honoured: its vocabularies and its own constraints")
    func metaschemaFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let vocabulary = """
            $vocabulary:
              https://json-schema.org/draft/2020-12/vocab/core: true
              https://json-schema.org/draft/2020-12/vocab/applicator: true
              https://json-schema.org/draft/2020-12/vocab/validation: true
              https://json-schema.org/draft/2020-12/vocab/format-assertion: true

            """
        try writeFiles(
            [
                "meta.yaml": "$schema: https://json-schema.org/draft/2020-12/schema\n" + vocabulary
                    + "$dynamicAnchor: meta\nallOf: [{$ref: \"https://json-schema.org/draft/2020-12/schema\"}]\nrequired: [title]\n",
                "unknown-vocabulary.yaml": "$schema: https://json-schema.org/draft/2020-12/schema\n" + vocabulary
                    + "  https://example.com/vocab/ours: true\n",
                "asserting.yaml": "$schema: meta.yaml\ntitle: doc\ntype: object\nproperties:\n  when: {title: when, format: date}\n",
                "untitled.yaml": "$schema: meta.yaml\ntitle: doc\nproperties:\n  when: {format: date}\n",
                "needs-ours.yaml": "$schema: unknown-vocabulary.yaml\n",
                "d.yaml": "when: 2024-13-45\n",
            ], in: dir)
        func validate(_ schema: String) throws -> ProcessResult {
            try runWPK([
                "validate", "--schema-only", "--schema", dir.appendingPathComponent(schema).path, dir.appendingPathComponent("d.yaml").path,
            ])
        }
        let asserting = try validate("asserting.yaml")
        #expect(asserting.status == 1)
        #expect(
            asserting.standardOutput.contains("d.yaml:1:7: error: when must be a valid date"),
            "\(asserting.standardOutput)\(asserting.standardError)")
        let untitled = try validate("untitled.yaml")
        #expect(untitled.status == 2)
        #expect(
            untitled.standardError.contains(
                "untitled.yaml:4:9: error: schema: properties.when is missing the required property \"title\" [WPK202]"),
            "\(untitled.standardError)")
        let unknown = try validate("needs-ours.yaml")
        #expect(unknown.status == 2)
        #expect(
            unknown.standardError.contains("requires the vocabulary https://example.com/vocab/ours, which this validator does not know"),
            "\(unknown.standardError)")
    }
}
