import Foundation
import Testing

@testable import WPKCore

/// Every diagnostic code is documented: each code the sources can report is a row of a table in
/// specs/ (code, severity, name, meaning, example), and each row is a code the sources report.
@Suite struct DiagnosticCodesDocumentTests {
    /// Rows of every code table in specs/*.md: code -> (file, severity).
    static func documentedRows() throws -> [String: (file: String, severity: String)] {
        var rows: [String: (file: String, severity: String)] = [:]
        let specs = RepoFiles.url("specs")
        for name in try FileManager.default.contentsOfDirectory(atPath: specs.path).sorted() where name.hasSuffix(".md") {
            for line in try RepoFiles.text("specs/" + name).split(separator: "\n") where line.hasPrefix("| WPK") {
                let cells = line.replacingOccurrences(of: "\\|", with: "¦").split(separator: "|").map {
                    $0.trimmingCharacters(in: .whitespaces)
                }
                #expect(
                    cells.count == 5,
                    "specs/\(name): \(line.prefix(60)) has \(cells.count) cells, not code, severity, name or keywords, meaning, example")
                #expect(rows[cells[0]] == nil, "\(cells[0]) is documented twice")
                rows[cells[0]] = ("specs/" + name, cells[1])
            }
        }
        return rows
    }

    /// Every `"WPKnnn"` literal in Sources/, with the files that hold it.
    static func codesInSources() throws -> [String: Set<String>] {
        var found: [String: Set<String>] = [:]
        let sources = RepoFiles.url("Sources")
        guard let files = FileManager.default.enumerator(atPath: sources.path) else { return [:] }
        let literal = /"(WPK[0-9]{3})"/
        for case let file as String in files where file.hasSuffix(".swift") {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for match in text.matches(of: literal) { found[String(match.output.1), default: []].insert(file) }
        }
        return found
    }

    @Test func everyCodeTheSourcesReportIsInATable() throws {
        let rows = try Self.documentedRows()
        let codes = try Self.codesInSources()
        #expect(codes.count > 60)
        for (code, files) in codes.sorted(by: { $0.key < $1.key }) {
            #expect(rows[code] != nil, "\(code) (in \(files.sorted().joined(separator: ", "))) is in no table in specs/")
        }
        // Codes built from the catalogue rather than written as literals are covered too.
        for code in DiagnosticCatalog.titles.keys.sorted() {
            #expect(rows[code] != nil, "\(code) has a title but no row in specs/")
        }
    }

    @Test func everyRowIsACodeTheSourcesReport() throws {
        let codes = try Self.codesInSources()
        for (code, row) in try Self.documentedRows().sorted(by: { $0.key < $1.key }) {
            #expect(codes[code] != nil, "\(code) (\(row.file)) appears nowhere in Sources/")
            #expect(DiagnosticCatalog.title(of: code) != nil, "\(code) (\(row.file)) has no title for SARIF")
        }
    }

    @Test func severitiesAgreeWithTheSources() throws {
        let rows = try Self.documentedRows()
        for kind in YAMLError.Kind.allCases { #expect(rows[kind.rawValue]?.severity == "error", "\(kind.rawValue)") }
        #expect(rows[PlaybookChecker.unreadableCode]?.severity == "error")
        #expect(rows[PlaybookChecker.notFollowedCode]?.severity == "info")
        for code in SchemaCode.allCases { #expect(rows[code.rawValue]?.severity == "error", "\(code.rawValue)") }
        for rule in PlaybookRules.all { #expect(rows[rule.code]?.severity == rule.severity.rawValue, "\(rule.code)") }
        for code in PlanCode.allCases { #expect(rows[code.rawValue]?.severity == code.severity.rawValue, "\(code.rawValue)") }
    }
}
