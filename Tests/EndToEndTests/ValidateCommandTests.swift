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
        try writeFiles(
            [
                "a.wpk.yaml": "x: [1,\n",
                "sub/b.wpk.yml": "k: 1\nk: 2\n",
                "sub/deeper/c.wpk.yaml": try exampleText("restart-unhealthy"),
                // The signature it declares, beside it (else a WPK504 warning says it is missing).
                "sub/deeper/restart-unhealthy.wpk.yaml.sig": try String(
                    contentsOf: packageRoot.appendingPathComponent("examples/playbooks/restart-unhealthy.wpk.yaml.sig"), encoding: .utf8),
                "not-a-playbook.yaml": "x: [\n",
            ], in: dir)
        #expect(mkfifo(dir.appendingPathComponent("pipe.wpk.yaml").path, 0o600) == 0)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("sub/loop").path, withDestinationPath: "..")
        let result = try runWPK(["validate", "--format", "json", dir.path])
        #expect(result.status == 1)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let files = try #require(json["files"] as? [[String: Any]])
        let paths = files.compactMap { $0["path"] as? String }
        // The link to an enclosing directory is not followed, and says so (information).
        #expect(
            paths == ["\(dir.path)/a.wpk.yaml", "\(dir.path)/sub/b.wpk.yml", "\(dir.path)/sub/loop", "\(dir.path)/sub/deeper/c.wpk.yaml"])
        let summary = try #require(json["summary"] as? [String: Int])
        #expect(summary == ["files": 4, "errors": 2, "warnings": 0])
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
        try writeFiles(["ok.wpk.yaml": try exampleText("scale-on-latency")], in: dir)
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

    @Test(
        "usage errors exit 2",
        arguments: [["validate", "--format", "xml", "x"], ["validate"], ["validate", "--bogus", "x"], ["no-such-command"]])
    func usageErrors(_ arguments: [String]) throws {
        #expect(try runWPK(arguments).status == 2)
    }

    @Test(
        "--help works on every command",
        arguments: [
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

/// The published schemas folder (`WPK_SHARED_SCHEMAS` overrides the default `../shared/schemas`).
let sharedSchemas: URL = {
    if let path = ProcessInfo.processInfo.environment["WPK_SHARED_SCHEMAS"] { return URL(fileURLWithPath: path) }
    return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/schemas")
}()

@Suite("wpk validate --format sarif")
struct SARIFOutputTests {
    @Test("SARIF output validates against the published SARIF 2.1.0 schema, field by field")
    func sarifAgainstPublishedSchema() throws {
        let sarifSchema = sharedSchemas.appendingPathComponent("sarif-schema-2.1.0.json")
        try #require(FileManager.default.fileExists(atPath: sarifSchema.path), "published SARIF schema missing at \(sarifSchema.path)")
        let result = try runWPK([
            "validate", "--format", "sarif", packageRoot.appendingPathComponent("examples/invalid/unsafe-auto.wpk.yaml").path,
        ])
        #expect(result.status == 1)
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let output = dir.appendingPathComponent("out.sarif")
        try Data(result.standardOutput.utf8).write(to: output)
        let check = try runWPK(["validate", "--schema", sarifSchema.path, "--schema-only", output.path])
        #expect(check.status == 0, "\(check.standardOutput)")

        // The same check must fail on a SARIF log that breaks the schema, or it proves nothing.
        let broken = dir.appendingPathComponent("broken.sarif")
        try Data(result.standardOutput.replacingOccurrences(of: "\"level\":\"error\"", with: "\"level\":\"fatal\"").utf8).write(to: broken)
        #expect(try runWPK(["validate", "--schema", sarifSchema.path, "--schema-only", broken.path]).status == 1)

        let log = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        #expect(log["version"] as? String == "2.1.0")
        let run = try #require((log["runs"] as? [[String: Any]])?.first)
        let rules = try #require(((run["tool"] as? [String: Any])?["driver"] as? [String: Any])?["rules"] as? [[String: Any]])
        let results = try #require(run["results"] as? [[String: Any]])
        #expect(results.count == 6)
        for result in results {
            let ruleIndex = try #require(result["ruleIndex"] as? Int)
            #expect(rules[ruleIndex]["id"] as? String == result["ruleId"] as? String, "ruleIndex points at the result's rule")
        }
        let first = results[0]
        #expect(first["ruleId"] as? String == "WPK306")
        #expect(first["level"] as? String == "error")
        let location = try #require((first["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any])
        #expect(
            (location["artifactLocation"] as? [String: Any])?["uri"] as? String
                == packageRoot.appendingPathComponent("examples/invalid/unsafe-auto.wpk.yaml").path)
        #expect((location["region"] as? [String: Int]) == ["startLine": 23, "startColumn": 15])
        let warning = try #require(results.first { $0["ruleId"] as? String == "WPK307" })
        #expect(warning["level"] as? String == "warning")
        #expect(Set(rules.compactMap { $0["id"] as? String }) == ["WPK306", "WPK307", "WPK308", "WPK309", "WPK310", "WPK322"])
    }

    @Test("files checked in parallel are reported in the order they were found, as with one job")
    func parallelOutputKeepsInputOrder() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Mixed sizes and verdicts, so workers finish out of order.
        var files: [String: String] = [:]
        let examples = ["restart-unhealthy", "rotate-secret", "scale-on-latency", "backup-verify", "requeue-job"]
        for i in 0..<60 {
            let name = String(format: "p%02d.wpk.yaml", i)
            files[name] = i % 3 == 0 ? "a: 1\na: 2\n" : try exampleText(examples[i % examples.count])
        }
        try writeFiles(files, in: dir)
        let invalid = packageRoot.appendingPathComponent("examples/invalid").path
        let serial = try runWPK(["validate", "--jobs", "1", "--format", "json", invalid, dir.path])
        for jobs in ["2", "8"] {
            let parallel = try runWPK(["validate", "--jobs", jobs, "--format", "json", invalid, dir.path])
            #expect(parallel.status == serial.status)
            #expect(parallel.standardOutput == serial.standardOutput, "--jobs \(jobs)")
        }
        let json = try #require(try JSONSerialization.jsonObject(with: Data(serial.standardOutput.utf8)) as? [String: Any])
        let paths = try #require(json["files"] as? [[String: Any]]).compactMap { $0["path"] as? String }
        #expect(paths.suffix(60) == (0..<60).map { String(format: "\(dir.path)/p%02d.wpk.yaml", $0) })
    }

    @Test("the schema's metaschema verdict is cached under XDG_CACHE_HOME and reused with the same result")
    func metaschemaVerdictIsCached() throws {
        let cache = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: cache) }
        let playbook = packageRoot.appendingPathComponent("examples/invalid/unsafe-auto.wpk.yaml").path
        let environment = ["XDG_CACHE_HOME": cache.path]
        let first = try runWPK(["validate", "--format", "json", playbook], environment: environment)
        let markers = try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("wpk/metaschema-passed").path)
        #expect(markers.count == 1)
        #expect(markers.first?.count == 64)
        let second = try runWPK(["validate", "--format", "json", playbook], environment: environment)
        #expect(second.status == first.status)
        #expect(second.standardOutput == first.standardOutput)
        // A schema that fails the metaschema is refused however warm the cache, and never cached.
        try writeFiles(["bad.schema.yaml": "type: object\ntitle: 5\n"], in: cache)
        let bad = try runWPK(
            ["validate", "--schema", cache.appendingPathComponent("bad.schema.yaml").path, playbook], environment: environment)
        #expect(bad.status == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("wpk/metaschema-passed").path).count == 1)
    }
}
