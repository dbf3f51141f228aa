import Foundation
import Testing

@Suite("files as users have them: apiVersion v1, a byte-order mark, JSON from other tools")
struct OriginalFormatTests {
    @Test("apiVersion: v1 means the same as wpk/v1 for validate and plan")
    func originalAPIVersion() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try exampleText("scale-on-latency")
        #expect(text.contains("\napiVersion: wpk/v1\n"))
        try writeFiles(
            [
                "v1.wpk.yaml": text.replacingOccurrences(of: "\napiVersion: wpk/v1\n", with: "\napiVersion: v1\n"),
                "v2.wpk.yaml": text.replacingOccurrences(of: "\napiVersion: wpk/v1\n", with: "\napiVersion: v2\n"),
            ], in: dir)
        let valid = try runWPK(["validate", dir.appendingPathComponent("v1.wpk.yaml").path])
        #expect(valid.status == 0, "\(valid.standardOutput)")
        let plan = try runWPK([
            "plan", "--set", "deployment=checkout", "--set", "replicas=4", dir.appendingPathComponent("v1.wpk.yaml").path,
        ])
        #expect(plan.status == 0, "\(plan.standardOutput)\(plan.standardError)")
        let other = try runWPK(["validate", dir.appendingPathComponent("v2.wpk.yaml").path])
        #expect(other.status == 1)
        #expect(other.standardOutput.contains("v2.wpk.yaml:2:13: error:"), "\(other.standardOutput)")
    }

    @Test("a UTF-8 byte-order mark is accepted and every position is the one without it")
    func byteOrderMark() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try exampleText("restart-unhealthy").replacingOccurrences(
            of: "apiVersion: wpk/v1\nkind: WorkflowPackage\n", with: "apiVersion: wpk/v1\nkind: WorkflowPackage\nextra: 1\n")
        try Data(text.utf8).write(to: dir.appendingPathComponent("plain.wpk.yaml"))
        try Data([0xEF, 0xBB, 0xBF] + Array(text.utf8)).write(to: dir.appendingPathComponent("bom.wpk.yaml"))
        let plain = try runWPK(["validate", "--format", "json", dir.appendingPathComponent("plain.wpk.yaml").path])
        let marked = try runWPK(["validate", "--format", "json", dir.appendingPathComponent("bom.wpk.yaml").path])
        #expect(marked.status == 1)
        func diagnostics(_ output: String) throws -> [String] {
            let json = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
            let file = try #require((json["files"] as? [[String: Any]])?.first)
            return try #require(file["diagnostics"] as? [[String: Any]]).map {
                "\($0["code"]!) \($0["line"]!):\($0["column"]!) \($0["message"]!)"
            }
        }
        #expect(try diagnostics(marked.standardOutput) == diagnostics(plain.standardOutput))
        #expect(try diagnostics(marked.standardOutput).first?.hasPrefix("WPK203 4:1 ") == true)
        try Data([0xEF, 0xBB, 0xBF] + Array(try exampleText("restart-unhealthy").utf8)).write(to: dir.appendingPathComponent("ok.wpk.yaml"))
        #expect(try runWPK(["validate", dir.appendingPathComponent("ok.wpk.yaml").path]).status == 0)
    }

    @Test("JSON written by Python's json.dump (surrogate pairs) validates, against a JSON schema, with positions")
    func jsonWithSurrogatePairs() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeFiles(
            [
                "schema.json": #"{"type": "object", "properties": {"icon": {"const": "\ud83d\udca9"}, "n": {"maximum": 3}}}"#,
                "good.json": #"{"icon": "\ud83d\udca9", "n": 1}"#,
                "bad.json": "{\n  \"icon\": \"\\ud83d\\udca9\",\n  \"n\": 7\n}\n",
            ], in: dir)
        let schema = dir.appendingPathComponent("schema.json").path
        let good = try runWPK(["validate", "--schema-only", "--schema", schema, dir.appendingPathComponent("good.json").path])
        #expect(good.status == 0, "\(good.standardOutput)\(good.standardError)")
        let bad = try runWPK(["validate", "--schema-only", "--schema", schema, dir.appendingPathComponent("bad.json").path])
        #expect(bad.status == 1)
        #expect(
            bad.standardOutput.hasPrefix("\(dir.path)/bad.json:3:8: error: n must be at most 3, got 7 [WPK206]"), "\(bad.standardOutput)")
    }
}
