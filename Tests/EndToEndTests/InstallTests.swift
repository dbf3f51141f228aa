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
