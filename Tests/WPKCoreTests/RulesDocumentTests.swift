import Foundation
import Testing

@testable import WPKCore

/// specs/rules.md documents every rule with its code, severity and name, and nothing more.
@Suite struct RulesDocumentTests {
    @Test func tableMatchesTheRules() throws {
        var rows: [String] = []
        for line in try RepoFiles.text("specs/rules.md").split(separator: "\n") where line.hasPrefix("| WPK") {
            // `\|` is a pipe inside a cell.
            let cells = line.replacingOccurrences(of: "\\|", with: "¦").split(separator: "|").map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            #expect(cells.count == 5, "\(line)")
            rows.append("\(cells[0]) \(cells[1]) \(cells[2])")
        }
        #expect(rows == PlaybookRules.all.map { "\($0.code) \($0.severity.rawValue) \($0.name)" })
    }
}
