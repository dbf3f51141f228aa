import Foundation
import Testing

@Suite("hostile files and names: special files, links out of the walk, names that are not UTF-8")
struct HostileInputTests {
    /// The JSON report of a finished run: each file's path and its diagnostics' codes and messages.
    func files(_ output: String) throws -> [(path: String, diagnostics: [(code: String, severity: String, message: String)])] {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
        return try #require(json["files"] as? [[String: Any]]).map { file in
            (
                file["path"] as? String ?? "",
                (file["diagnostics"] as? [[String: Any]] ?? []).map {
                    ($0["code"] as? String ?? "", $0["severity"] as? String ?? "", $0["message"] as? String ?? "")
                }
            )
        }
    }

    @Test("a FIFO named as an argument is one error, exit 1, without blocking; the JSON stays whole")
    func fifoArgument() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("x.wpk.yaml").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let wpk = try BackgroundWPK(["validate", "--format", "json", fifo], environment: [:], in: dir)
        #expect(try wpk.finish(timeout: 20) == 1)
        let reported = try files(wpk.output)
        #expect(reported.count == 1)
        #expect(reported.first?.diagnostics.map(\.code) == ["WPK100"])
        #expect(reported.first?.diagnostics.first?.message.contains("a FIFO (named pipe)") == true, "\(wpk.output)")
    }

    @Test("a device named as an argument is one error, not a read to the size limit")
    func deviceArgument() throws {
        let result = try runWPK(["validate", "/dev/zero"])
        #expect(result.status == 1)
        #expect(
            result.standardOutput.hasPrefix("/dev/zero: error: cannot read file: it is a character device;"), "\(result.standardOutput)")
    }

    @Test("process substitution (/dev/fd/N) still reads")
    func processSubstitution() throws {
        let playbook = packageRoot.appendingPathComponent("examples/playbooks/restart-unhealthy.wpk.yaml").path
        let result = try runProcess("/bin/bash", ["-c", "'\(wpkBinary.path)' validate <(cat '\(playbook)'); echo \"EXIT=$?\""])
        #expect(result.output.hasSuffix("EXIT=0\n"), "\(result.output)")
    }

    @Test("a directory walk never leaves the directory given; links out or to an enclosing directory are reported")
    func walkStaysInside() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let valid = try exampleText("restart-unhealthy")
        try writeFiles(["a/sub/in.wpk.yaml": valid, "outside/out.wpk.yaml": valid, "a/b/deep.wpk.yaml": valid], in: dir)
        let fileManager = FileManager.default
        try fileManager.createSymbolicLink(atPath: dir.appendingPathComponent("a/b/up").path, withDestinationPath: "..")
        try fileManager.createSymbolicLink(atPath: dir.appendingPathComponent("a/out").path, withDestinationPath: "../outside")
        try fileManager.createSymbolicLink(
            atPath: dir.appendingPathComponent("a/out-file.wpk.yaml").path, withDestinationPath: "../outside/out.wpk.yaml")
        try fileManager.createSymbolicLink(atPath: dir.appendingPathComponent("a/alias").path, withDestinationPath: "sub")
        let a = dir.appendingPathComponent("a").path
        let result = try runWPK(["validate", "--format", "json", a])
        #expect(result.status == 0, "\(result.standardOutput)")
        let reported = try files(result.standardOutput)
        // Subdirectories are listed after their parent's entries, last found first (the walk's order).
        #expect(
            reported.map(\.path) == ["\(a)/out", "\(a)/out-file.wpk.yaml", "\(a)/b/deep.wpk.yaml", "\(a)/b/up", "\(a)/alias/in.wpk.yaml"],
            "\(reported.map(\.path))")
        let notFollowed = Dictionary(
            uniqueKeysWithValues: reported.filter { $0.diagnostics.first?.code == "WPK115" }.map { ($0.path, $0.diagnostics) })
        #expect(notFollowed.keys.sorted() == ["\(a)/b/up", "\(a)/out", "\(a)/out-file.wpk.yaml"])
        #expect(notFollowed.values.allSatisfy { $0.count == 1 && $0[0].severity == "info" })
        #expect(notFollowed["\(a)/b/up"]?.first?.message.contains("a directory enclosing it") == true)
        #expect(notFollowed["\(a)/out"]?.first?.message.contains("outside the directory given") == true)
        #expect(notFollowed["\(a)/out-file.wpk.yaml"]?.first?.message.contains("outside the directory given") == true)
        // Where the walk starts does not change what is inside it.
        let fromB = try files(try runWPK(["validate", "--format", "json", dir.appendingPathComponent("a/b").path]).standardOutput)
        #expect(fromB.map(\.path) == ["\(a)/b/deep.wpk.yaml", "\(a)/b/up"])
    }

    @Test("a name that is not UTF-8 is opened as it is and shown escaped, found in a directory or named")
    func nonUTF8Name() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let name: [UInt8] = Array("bad".utf8) + [0xFF, 0xFE] + Array("name.wpk.yaml".utf8)
        let path = Array(dir.path.utf8) + [UInt8(ascii: "/")] + name + [0]
        let descriptor = path.withUnsafeBufferPointer {
            $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_WRONLY | O_CREAT, 0o644) }
        }
        #expect(descriptor >= 0)
        let text = Array("apiVersion: wpk/v1\nkind: WorkflowPackage\n".utf8)
        #expect(write(descriptor, text, text.count) == text.count)
        close(descriptor)
        let walked = try runWPK(["validate", dir.path])
        #expect(walked.status == 1)
        #expect(
            walked.standardOutput.hasPrefix(
                "\(dir.path)/bad\\xFF\\xFEname.wpk.yaml:1:1: error: the document is missing the required property"),
            "\(walked.standardOutput)")
        let named = try runProcess(
            "/bin/bash",
            ["-c", "cd '\(dir.path)' && '\(wpkBinary.path)' validate \"$(printf 'bad\\377\\376name.wpk.yaml')\"; echo \"EXIT=$?\""])
        #expect(
            named.output.hasPrefix("bad\\xFF\\xFEname.wpk.yaml:1:1: error: the document is missing the required property"),
            "\(named.output)")
        #expect(named.output.hasSuffix("EXIT=1\n"))
    }

    @Test("bidirectional controls are an error where they reach a command and a warning elsewhere, at the character")
    func trojanSource() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try exampleText("restart-unhealthy")
            .replacingOccurrences(of: "      target: pods\n", with: "      target: po\u{202E}ds\u{202C}\n")
            .replacingOccurrences(
                of: "      description: Deployment whose pods are unhealthy\n",
                with: "      description: Deployment \u{2066}whose pods\u{2069} are unhealthy\n")
        try writeFiles(["trojan.wpk.yaml": text], in: dir)
        let result = try runWPK(["validate", dir.appendingPathComponent("trojan.wpk.yaml").path])
        #expect(result.status == 1)
        let lines = result.standardOutput.split(separator: "\n").map(String.init)
        #expect(
            lines.contains {
                $0.hasSuffix(
                    "trojan.wpk.yaml:33:31: warning: value holds the invisible character U+2066 LEFT-TO-RIGHT ISOLATE, so it shows differently from what it is; remove it [WPK341]"
                )
            },
            "\(result.standardOutput)")
        #expect(
            lines.contains {
                $0.hasSuffix(
                    "trojan.wpk.yaml:51:17: error: value holds the invisible character U+202E RIGHT-TO-LEFT OVERRIDE, which would reach a command as it is while showing differently; remove it [WPK340]"
                )
            },
            "\(result.standardOutput)")
        // The terminal never receives the control itself.
        #expect(!result.standardOutput.unicodeScalars.contains { $0.value == 0x202E || $0.value == 0x2066 })
        // An emoji sequence with a joiner in a description is no finding.
        try writeFiles(
            [
                "family.wpk.yaml": try exampleText("restart-unhealthy").replacingOccurrences(
                    of: "      description: Deployment whose pods are unhealthy\n",
                    with: "      description: Deployment 👨\u{200D}👩\u{200D}👧 pods\n")
            ], in: dir)
        #expect(try runWPK(["validate", dir.appendingPathComponent("family.wpk.yaml").path]).status == 0)
    }
}
