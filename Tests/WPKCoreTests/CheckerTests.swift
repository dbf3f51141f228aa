import Foundation
import Testing
@testable import WPKCore

/// The package root, from this file's location.
private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The checker as `wpk validate` runs it: the real schema file, then the rules.
private let checker: PlaybookChecker = {
    let schema = try! CompiledSchema(contentsOfFile: root.appendingPathComponent("specs/wpk_schema.yaml").path)
    return PlaybookChecker(schema: schema)
}()

/// One row of a findings table in `examples/invalid/README.md`.
private struct DocumentedFinding: Hashable, CustomStringConvertible {
    var line: Int
    var column: Int
    var source: String
    var code: String
    var description: String { "\(line):\(column) \(source) \(code)" }
}

/// The findings tables of `examples/invalid/README.md`, keyed by file name.
private func documentedFindings() throws -> [String: [DocumentedFinding]] {
    let text = try String(contentsOf: root.appendingPathComponent("examples/invalid/README.md"), encoding: .utf8)
    var tables: [String: [DocumentedFinding]] = [:]
    var current: String?
    for line in text.split(separator: "\n") {
        if line.hasPrefix("### `"), let name = line.split(separator: "`").dropFirst().first {
            current = String(name)
            tables[String(name)] = []
            continue
        }
        let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let file = current, cells.count >= 4, let lineNumber = Int(cells[0]), let column = Int(cells[1]) else { continue }
        tables[file]?.append(DocumentedFinding(line: lineNumber, column: column, source: cells[2], code: cells[3]))
    }
    return tables
}

@Test("the five example playbooks validate with no diagnostic at all, schema and rules", arguments: [
    "restart-unhealthy", "scale-on-latency", "backup-verify", "rotate-secret", "requeue-job",
])
func examplesAreClean(_ name: String) throws {
    let report = checker.check(.file(root.appendingPathComponent("examples/playbooks/\(name).wpk.yaml").path))
    #expect(report.diagnostics.isEmpty, "\(report.diagnostics.map { "\($0.mark?.description ?? "-") \($0.code) \($0.message)" })")
    #expect(report.isValid)
}

@Test("every invalid example produces exactly the findings its README row lists, schema included")
func invalidExamplesMatchTheirDocumentation() throws {
    let tables = try documentedFindings()
    let files = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("examples/invalid").path)
        .filter(PlaybookFinder.isPlaybookName)
    #expect(Set(files) == Set(tables.keys), "every invalid example is documented, and only those")
    for (file, expected) in tables {
        let report = checker.check(.file(root.appendingPathComponent("examples/invalid/\(file)").path))
        let found = report.diagnostics.map {
            DocumentedFinding(line: $0.mark?.line ?? 0, column: $0.mark?.column ?? 0, source: $0.source.rawValue, code: $0.code)
        }
        let foundSorted: [DocumentedFinding] = found.sorted { $0.description < $1.description }
        let expectedSorted: [DocumentedFinding] = expected.sorted { $0.description < $1.description }
        #expect(foundSorted == expectedSorted, "\(file)")
        #expect(!report.isValid, "\(file) must be invalid")
    }
}
