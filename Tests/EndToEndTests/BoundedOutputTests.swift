import Foundation
import Testing

@Suite("text output is bounded per file; JSON and SARIF keep everything")
struct BoundedOutputTests {
    /// A document with 1,000 errors (every item of a list has the wrong type) and a valid one.
    func fixture() throws -> (dir: URL, arguments: [String]) {
        let dir = try makeTemporaryDirectory()
        try writeFiles(
            [
                "s.yaml": "type: array\nitems: {type: string}\n",
                "d.yaml": (0..<1000).map { "- \($0)\n" }.joined(),
                "ok.yaml": "- a\n",
            ], in: dir)
        return (
            dir,
            [
                "validate", "--schema-only", "--schema", dir.appendingPathComponent("s.yaml").path,
                dir.appendingPathComponent("d.yaml").path, dir.appendingPathComponent("ok.yaml").path,
            ]
        )
    }

    @Test("at most 200 diagnostics per file by default, then one line counting the rest by severity")
    func defaultBound() throws {
        let (dir, arguments) = try fixture()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try runWPK(arguments)
        #expect(result.status == 1)
        let lines = result.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.hasSuffix("[WPK201]") }.count == 200)
        #expect(
            lines.contains("\(dir.path)/d.yaml: 800 more diagnostics not shown (800 errors); --max-diagnostics 0 shows all"),
            "\(lines.suffix(3))")
        #expect(lines.last == "2 files checked: 1000 errors, 0 warnings")
    }

    @Test("--max-diagnostics N shows N; 0 shows all; a negative number is a usage error")
    func explicitBound() throws {
        let (dir, arguments) = try fixture()
        defer { try? FileManager.default.removeItem(at: dir) }
        let five = try runWPK(Array(arguments.prefix(1)) + ["--max-diagnostics", "5"] + arguments.dropFirst())
        #expect(five.standardOutput.split(separator: "\n").filter { $0.hasSuffix("[WPK201]") }.count == 5)
        #expect(five.standardOutput.contains("995 more diagnostics not shown (995 errors)"))
        let all = try runWPK(Array(arguments.prefix(1)) + ["--max-diagnostics", "0"] + arguments.dropFirst())
        #expect(all.standardOutput.split(separator: "\n").filter { $0.hasSuffix("[WPK201]") }.count == 1000)
        #expect(!all.standardOutput.contains("not shown"))
        #expect(try runWPK(Array(arguments.prefix(1)) + ["--max-diagnostics", "-1"] + arguments.dropFirst()).status == 2)
    }

    @Test("JSON and SARIF keep every diagnostic")
    func machineFormatsKeepAll() throws {
        let (dir, arguments) = try fixture()
        defer { try? FileManager.default.removeItem(at: dir) }
        let json = try runWPK(Array(arguments.prefix(1)) + ["--format", "json"] + arguments.dropFirst())
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        #expect((object["files"] as? [[String: Any]])?.first.flatMap { $0["diagnostics"] as? [Any] }?.count == 1000)
        let sarif = try runWPK(Array(arguments.prefix(1)) + ["--format", "sarif"] + arguments.dropFirst())
        let log = try #require(try JSONSerialization.jsonObject(with: Data(sarif.standardOutput.utf8)) as? [String: Any])
        #expect(((log["runs"] as? [[String: Any]])?.first?["results"] as? [Any])?.count == 1000)
    }
}
