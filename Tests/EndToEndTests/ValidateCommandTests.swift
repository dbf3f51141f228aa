import Foundation
import Testing

@Suite("wpk validate, run as a process")
struct ValidateCommandTests {
    @Test("text output is compiler-style with a source excerpt and caret; exit 1 on errors")
    func textOutput() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeFiles(["dup.wpk.yaml": "a: 1\nb:\n  c: 2\n  c: 3\n"], in: dir)
        let result = try runWPK(["validate", dir.appendingPathComponent("dup.wpk.yaml").path])
        #expect(result.status == 1)
        let lines = result.standardOutput.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "\(dir.path)/dup.wpk.yaml:4:3: error: duplicate key \"c\"; it is first defined at line 3, column 3 [WPK103]")
        #expect(lines[1] == " 4 |   c: 3")
        #expect(lines[2] == "   |   ^")
        #expect(!result.standardOutput.contains("\u{1B}"), "no colour when stdout is not a terminal")
    }

    @Test("a directory is walked recursively; one bad file does not stop the others; special files are skipped")
    func directoryWalk() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeFiles([
            "a.wpk.yaml": "x: [1,\n",
            "sub/b.wpk.yml": "k: 1\nk: 2\n",
            "sub/deeper/c.wpk.yaml": "fine: true\n",
            "not-a-playbook.yaml": "x: [\n",
        ], in: dir)
        #expect(mkfifo(dir.appendingPathComponent("pipe.wpk.yaml").path, 0o600) == 0)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("sub/loop").path, withDestinationPath: "..")
        let result = try runWPK(["validate", "--format", "json", dir.path])
        #expect(result.status == 1)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let files = try #require(json["files"] as? [[String: Any]])
        let paths = files.compactMap { $0["path"] as? String }
        #expect(paths == ["\(dir.path)/a.wpk.yaml", "\(dir.path)/sub/b.wpk.yml", "\(dir.path)/sub/deeper/c.wpk.yaml"])
        let summary = try #require(json["summary"] as? [String: Int])
        #expect(summary == ["files": 3, "errors": 2, "warnings": 0])
    }

    @Test("JSON output carries every contract field")
    func jsonFields() throws {
        let result = try runWPK(["validate", "--format", "json", "-"], input: "a: 1\na: 2\n")
        #expect(result.status == 1)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        #expect(json["version"] as? Int == 1)
        let file = try #require((json["files"] as? [[String: Any]])?.first)
        #expect(file["path"] as? String == "-")
        #expect(file["digest"] as? String == "sha256:" + sha256Hex("a: 1\na: 2\n"))
        #expect(file["valid"] as? Bool == false)
        let diagnostic = try #require((file["diagnostics"] as? [[String: Any]])?.first)
        #expect(diagnostic["severity"] as? String == "error")
        #expect(diagnostic["code"] as? String == "WPK103")
        #expect(diagnostic["source"] as? String == "yaml")
        #expect(diagnostic["message"] as? String == "duplicate key \"a\"; it is first defined at line 1, column 1")
        #expect(diagnostic["pointer"] as? String == "/a")
        #expect(diagnostic["line"] as? Int == 2)
        #expect(diagnostic["column"] as? Int == 1)
    }

    @Test("an unreadable file has null line and column and the others are still checked")
    func unreadableFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeFiles(["ok.wpk.yaml": "fine: true\n"], in: dir)
        let result = try runWPK(["validate", "--format", "json", dir.appendingPathComponent("missing.wpk.yaml").path, dir.path])
        #expect(result.status == 1)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let files = try #require(json["files"] as? [[String: Any]])
        #expect(files.count == 2)
        let missing = try #require((files[0]["diagnostics"] as? [[String: Any]])?.first)
        #expect(missing["code"] as? String == "WPK100")
        #expect(missing["line"] is NSNull)
        #expect(files[0]["digest"] is NSNull)
        #expect(files[1]["valid"] as? Bool == true)
    }

    @Test("usage errors exit 2", arguments: [["validate", "--format", "xml", "x"], ["validate"], ["validate", "--bogus", "x"], ["no-such-command"]])
    func usageErrors(_ arguments: [String]) throws {
        #expect(try runWPK(arguments).status == 2)
    }

    @Test("--help works on every command", arguments: [
        ["--help"], ["validate", "--help"], ["plan", "--help"], ["review", "--help"], ["approve", "--help"],
        ["reject", "--help"], ["approvals", "--help"], ["approvals", "list", "--help"], ["approvals", "verify", "--help"],
        ["run", "--help"], ["cancel", "--help"],
    ])
    func help(_ arguments: [String]) throws {
        let result = try runWPK(arguments)
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("USAGE: wpk"))
    }
}

/// Lowercase hex SHA-256 of a string, computed by the system's sha256sum as an independent check.
func sha256Hex(_ text: String) -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["sha256sum"]
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try? process.run()
    input.fileHandleForWriting.write(Data(text.utf8))
    try? input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(String(decoding: data, as: UTF8.self).prefix(64))
}
