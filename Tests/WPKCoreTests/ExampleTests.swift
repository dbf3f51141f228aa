import Foundation
import Testing

@testable import WPKCore

/// Files of the repository, found from this source file's path.
enum RepoFiles {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    static func bytes(_ relative: String) throws -> [UInt8] { Array(try Data(contentsOf: url(relative))) }

    static func text(_ relative: String) throws -> String { try String(contentsOf: url(relative), encoding: .utf8) }

    /// Names of the `*.wpk.yaml` files in a directory, sorted.
    static func playbooks(in relative: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url(relative).path).filter { $0.hasSuffix(".wpk.yaml") }.sorted()
    }
}

/// The checker exactly as `wpk validate` runs it: the real schema file, then the rules.
let playbookChecker: PlaybookChecker = {
    do {
        return PlaybookChecker(schema: try CompiledSchema(contentsOfFile: RepoFiles.url("specs/wpk_schema.yaml").path))
    } catch {
        fatalError("specs/wpk_schema.yaml does not compile: \(error)")
    }
}()

/// Everything `wpk validate` reports for a file: YAML, schema and rule diagnostics.
func validateDiagnostics(_ bytes: [UInt8]) -> [Diagnostic] {
    playbookChecker.check(bytes: bytes, path: "test").diagnostics
}

@Suite struct ExamplePlaybookTests {
    static let names = [
        "backup-verify.wpk.yaml", "requeue-job.wpk.yaml", "restart-unhealthy.wpk.yaml", "rotate-secret.wpk.yaml",
        "scale-on-latency.wpk.yaml",
    ]

    @Test func theFiveExamplesAreThere() throws {
        #expect(try RepoFiles.playbooks(in: "examples/playbooks") == Self.names)
    }

    @Test(arguments: names) func validatesClean(name: String) throws {
        let bytes = try RepoFiles.bytes("examples/playbooks/\(name)")
        let diagnostics = validateDiagnostics(bytes)
        #expect(
            diagnostics.isEmpty, "\(diagnostics.map { "\($0.mark?.description ?? "-") \($0.code) \($0.message)" }.joined(separator: "\n"))")
    }

    /// Each example is signed with the published test key (Tests/Fixtures/signing); after an
    /// edit, scripts/sign-examples.sh signs it again.
    @Test(arguments: names) func isSignedByTheExampleKey(name: String) throws {
        var checker = playbookChecker
        checker.signatures = PlaybookSignatureTrust(
            policy: MachinePolicy(trustedKeys: RepoFiles.url("examples/keys").path, requireSignedPlaybooks: true))
        let report = checker.check(.file(RepoFiles.url("examples/playbooks/\(name)").path))
        #expect(
            report.signature?.state == .verified,
            "\(report.signature?.message ?? "no signature"); run scripts/sign-examples.sh after changing an example")
        #expect(report.signature?.keyName == "wpk-example")
        #expect(report.diagnostics.map(\.code) == ["WPK501"])
    }

    @Test(arguments: names) func startsWithTheSchemaLine(name: String) throws {
        let text = try RepoFiles.text("examples/playbooks/\(name)")
        #expect(text.hasPrefix("# yaml-language-server: $schema=../../specs/wpk_schema.yaml\n"))
    }

    @Test(arguments: names) func everyStepUsesACatalogueAction(name: String) throws {
        let playbook = Playbook(root: try YAMLLoader.load(RepoFiles.bytes("examples/playbooks/\(name)")).root)
        #expect(!playbook.handlers.isEmpty)
        for (step, _) in playbook.allSteps {
            #expect(step.actionSpec != nil, "\(step.displayName)")
        }
    }

    /// Auto mode only where every step is non-destructive (the brief's "clearly safe").
    @Test func autoModeOnlyForTheReadMostlyPlaybooks() throws {
        var auto: [String] = []
        for name in Self.names {
            let playbook = Playbook(root: try YAMLLoader.load(RepoFiles.bytes("examples/playbooks/\(name)")).root)
            if playbook.safety.effectiveMode == .auto {
                auto.append(name)
                #expect(playbook.allSteps.allSatisfy { $0.step.actionSpec?.destructive == false })
            }
        }
        #expect(auto == ["backup-verify.wpk.yaml", "requeue-job.wpk.yaml"])
    }
}

@Suite struct ApprovalDefaultTests {
    @Test func mutatingStepsAreGatedInManualModeOnly() throws {
        let manual = Playbook(root: try YAMLLoader.load(RepoFiles.bytes("examples/playbooks/restart-unhealthy.wpk.yaml")).root)
        let gated = manual.handlers.filter { manual.requiresApproval($0) }.compactMap(\.name?.value)
        #expect(gated == ["restart"])
        #expect(manual.rollback.allSatisfy { manual.requiresApproval($0) })

        let auto = Playbook(root: try YAMLLoader.load(RepoFiles.bytes("examples/playbooks/requeue-job.wpk.yaml")).root)
        #expect(auto.handlers.allSatisfy { !auto.requiresApproval($0) })
    }
}

/// Damaged copies of the examples (a line removed, a line doubled, the file cut short, a value
/// replaced by odd scalars): the model and the rules return values, whatever they are given.
@Suite struct DamagedExampleTests {
    static let oddValues = [
        "", "~", "[]", "{}", "-1", "0", "99999999999999999999999", "1e400", ".nan", "yes", "\"${{\"", "${{ }}", "'}}${{'", "[[[[]]]]",
        "\"\\u0000\"",
    ]

    @Test(arguments: ExamplePlaybookTests.names) func rulesNeverTrapOnDamagedCopies(name: String) throws {
        let text = try RepoFiles.text("examples/playbooks/\(name)")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var variants: [String] = []
        for i in lines.indices {
            var removed = lines
            removed.remove(at: i)
            variants.append(removed.joined(separator: "\n"))
            var doubled = lines
            doubled.insert(lines[i], at: i)
            variants.append(doubled.joined(separator: "\n"))
            if let colon = lines[i].firstIndex(of: ":") {
                // Two odd values per line, a different pair each line, so every value gets used.
                for value in [Self.oddValues[i % Self.oddValues.count], Self.oddValues[(i * 7 + 3) % Self.oddValues.count]] {
                    var changed = lines
                    changed[i] = String(lines[i][...colon]) + " " + value
                    variants.append(changed.joined(separator: "\n"))
                }
            }
        }
        var offset = 0
        while offset < text.utf8.count {
            variants.append(String(decoding: Array(text.utf8)[..<offset], as: UTF8.self))
            offset += 97
        }

        var loaded = 0
        for variant in variants {
            guard let document = try? YAMLLoader.load(variant) else { continue }
            loaded += 1
            let playbook = Playbook(root: document.root)
            _ = playbook.executionOrder()
            for diagnostic in PlaybookRules.check(document: document) {
                #expect(document.root.resolve(pointer: diagnostic.pointer) != nil, "\(diagnostic.code) \(diagnostic.pointer)")
                #expect(diagnostic.mark.map { $0.offset <= variant.utf8.count } ?? false)
            }
        }
        #expect(loaded > variants.count / 2)
    }
}
