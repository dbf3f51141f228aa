import Foundation
import Testing

@testable import WPKCore

/// specs/plan-codes.md documents every planning code with its severity and name, and nothing more.
@Suite struct PlanCodesDocumentTests {
    @Test func tableMatchesTheCodes() throws {
        var rows: [String] = []
        for line in try RepoFiles.text("specs/plan-codes.md").split(separator: "\n") where line.hasPrefix("| WPK") {
            let cells = line.replacingOccurrences(of: "\\|", with: "¦").split(separator: "|").map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            #expect(cells.count == 5, "\(line)")
            rows.append("\(cells[0]) \(cells[1]) \(cells[2])")
        }
        #expect(rows == PlanCode.allCases.map { "\($0.rawValue) \($0.severity.rawValue) \($0.name)" })
    }

    @Test func everyCodeHasATitleForSARIF() {
        for code in PlanCode.allCases {
            #expect(DiagnosticCatalog.title(of: code.rawValue) == code.title)
        }
    }
}
