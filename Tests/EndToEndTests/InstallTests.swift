import Foundation
import Testing

/// The README's Install section: the shell completion scripts it installs generate, for every
/// shell it names, and know every command.
@Suite("installing: shell completions")
struct InstallTests {
    @Test("completion scripts generate for bash, zsh and fish and name every command", arguments: ["bash", "zsh", "fish"])
    func completionScript(shell: String) throws {
        let result = try runWPK(["--generate-completion-script", shell])
        #expect(result.status == 0, "\(result.standardError)")
        for command in ["validate", "plan", "review", "approve", "reject", "approvals", "run", "cancel", "schema"] {
            #expect(result.standardOutput.contains(command), "the \(shell) script does not know \(command)")
        }
        // Each is what its shell loads: a bash function bound with `complete`, a zsh #compdef file, fish `complete` lines.
        let marker = ["bash": "complete -o filenames -F _wpk wpk", "zsh": "#compdef wpk", "fish": "complete -c 'wpk'"][shell]!
        #expect(result.standardOutput.contains(marker), "\(result.standardOutput.prefix(300))")
    }
}

/// The README's man page: swift-argument-parser's `generate-manual` plugin builds the package
/// and runs its `generate-manual` tool on the wpk binary. A test cannot start the plugin (SwiftPM
/// holds the build directory while it tests), so it builds that same tool from the checkout
/// SwiftPM resolved (offline, into a scratch directory of its own) and runs it on the wpk just built.
@Suite("installing: man page")
struct ManPageTests {
    @Test("generate-manual writes wpk.1 naming every command")
    func manPage() throws {
        // <scratch>/<triple>/debug/wpk: the checkouts are under <scratch>.
        let scratch = wpkBinary.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let parser = scratch.appendingPathComponent("checkouts/swift-argument-parser")
        let swift = ["/opt/swift/usr/bin/swift", "/usr/bin/swift", "/usr/local/bin/swift"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        guard let swift, FileManager.default.fileExists(atPath: parser.appendingPathComponent("Tools/generate-manual").path) else {
            print(
                "generate-manual cannot be built here (swift: \(swift ?? "not found"), \(parser.path)/Tools/generate-manual missing); the man page test is skipped"
            )
            #expect(ProcessInfo.processInfo.environment["CI"] != "true", "CI must build the man page")
            return
        }
        let toolScratch = scratch.appendingPathComponent("generate-manual-tool").path
        let build = try runTool(
            swift,
            [
                "build", "--disable-automatic-resolution", "--package-path", parser.path, "--scratch-path", toolScratch,
                "--product", "generate-manual",
            ])
        try #require(build.status == 0, "\(build.standardOutput.suffix(2000))\(build.standardError.suffix(2000))")
        let binPath = try runTool(swift, ["build", "--package-path", parser.path, "--scratch-path", toolScratch, "--show-bin-path"])
        let tool = binPath.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) + "/generate-manual"
        let output = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: output) }
        let generated = try runTool(tool, [wpkBinary.path, "--output-directory", output.path])
        #expect(generated.status == 0, "\(generated.standardError)")
        let page = try String(contentsOf: output.appendingPathComponent("wpk.1"), encoding: .utf8)
        #expect(page.contains(".Dt WPK 1"), "\(page.prefix(400))")
        for command in [
            "validate", "plan", "review", "approve", "reject", "approvals", "run", "cancel", "schema", "serve", "sign", "verify",
        ] {
            #expect(page.contains(command), "the man page does not name \(command)")
        }
    }
}
