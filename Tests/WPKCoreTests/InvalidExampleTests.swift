import Foundation
import Testing

@testable import WPKCore

/// One expected finding of a file in examples/invalid, as a row of examples/invalid/README.md.
struct ExpectedFinding: Hashable, CustomStringConvertible {
    var line: Int
    var column: Int
    var source: String
    var code: String
    var description: String { "\(line):\(column) \(source) \(code)" }
}

/// The README's expectations: a `### \`file\`` heading, then rows `| line | column | source | code | … |`.
enum InvalidExamplesReadme {
    static func expectations() throws -> [String: [ExpectedFinding]] {
        var out: [String: [ExpectedFinding]] = [:]
        var current: String?
        for line in try RepoFiles.text("examples/invalid/README.md").split(separator: "\n") {
            if line.hasPrefix("### `") {
                current = line.dropFirst(5).prefix { $0 != "`" }.description
                out[current!] = []
                continue
            }
            guard let file = current, line.hasPrefix("|") else { continue }
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4, let row = Int(cells[0]), let column = Int(cells[1]) else { continue }
            out[file]!.append(ExpectedFinding(line: row, column: column, source: cells[2], code: cells[3].trimmingCharacters(in: ["`"])))
        }
        return out
    }
}

@Suite struct InvalidExampleTests {
    static let files = (try? RepoFiles.playbooks(in: "examples/invalid")) ?? []

    @Test func everyFileIsDocumentedAndEveryDocumentedFileExists() throws {
        let documented = try InvalidExamplesReadme.expectations()
        #expect(Set(documented.keys) == Set(Self.files))
        #expect(Self.files.count >= 5)
    }

    /// The loader, the schema and the rules together produce exactly the README's rows.
    @Test(arguments: files) func producesExactlyItsDocumentedFindings(file: String) throws {
        let expected = try #require(try InvalidExamplesReadme.expectations()[file])
        let diagnostics = validateDiagnostics(try RepoFiles.bytes("examples/invalid/\(file)"))
        let actual = diagnostics.map {
            ExpectedFinding(line: $0.mark?.line ?? 0, column: $0.mark?.column ?? 0, source: $0.source.rawValue, code: $0.code)
        }
        #expect(
            actual.map(\.description).sorted() == expected.map(\.description).sorted(),
            "\(diagnostics.map { "| \($0.mark?.line ?? 0) | \($0.mark?.column ?? 0) | \($0.source.rawValue) | \($0.code) | \($0.severity.rawValue): \($0.message) |" }.joined(separator: "\n"))"
        )
        #expect(diagnostics.contains { $0.severity == .error }, "a file in examples/invalid must be invalid")
    }
}
