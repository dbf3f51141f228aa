import Foundation
import Testing

/// The binary alone, as a user installs it: copied into an empty directory, far from the source
/// tree, so nothing can be found beside it or above it.
@Suite("an installed wpk: the binary alone in an empty directory", .serialized)
struct InstalledBinaryTests {
    /// A fresh directory holding only `bin/wpk` (the binary SwiftPM just built, linked or copied) and an
    /// empty `work/` to run in.
    final class Installation {
        let root: URL
        var binary: URL { root.appendingPathComponent("bin/wpk") }
        var work: URL { root.appendingPathComponent("work") }
        /// No XDG or HOME pointing at the source tree or the user's cache.
        var environment: [String: String] { ["HOME": root.path, "XDG_CACHE_HOME": root.appendingPathComponent("cache").path] }

        init() throws {
            root = try makeTemporaryDirectory()
            try FileManager.default.createDirectory(at: root.appendingPathComponent("bin"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            // A hard link where the file system allows (no file written, so no half-written copy
            // and no "text file busy" when a test process forks meanwhile), else a copy.
            if link(wpkBinary.path, binary.path) != 0 {
                try FileManager.default.copyItem(at: wpkBinary, to: binary)
                chmod(binary.path, 0o755)
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("bin").path) == ["wpk"])
        }

        deinit { try? FileManager.default.removeItem(at: root) }

        func wpk(_ arguments: [String], environment extra: [String: String] = [:], launch: WPKLaunch = WPKLaunch()) throws -> ProcessResult
        {
            var launch = launch
            launch.binary = binary
            return try runWPK(arguments, environment: environment.merging(extra) { $1 }, directory: work, launch: launch)
        }
    }

    @Test("validate, plan and schema work with the carried schema")
    func validatePlanSchema() throws {
        let installed = try Installation()
        try writeFiles(
            [
                "restart.wpk.yaml": try exampleText("restart-unhealthy"),
                "bad.wpk.yaml": "apiVersion: wpk/v1\nkind: WorkflowPackage\n",
            ], in: installed.work)
        let valid = try installed.wpk(["validate", "restart.wpk.yaml"])
        #expect(valid.status == 0, "\(valid.standardOutput)\(valid.standardError)")
        let invalid = try installed.wpk(["validate", "bad.wpk.yaml"])
        #expect(invalid.status == 1)
        #expect(
            invalid.standardOutput.hasPrefix(
                "bad.wpk.yaml:1:1: error: the document is missing the required property \"metadata\" [WPK202]"),
            "\(invalid.standardOutput)\(invalid.standardError)")
        let plan = try installed.wpk(["plan", "--set", "deployment=checkout", "--set", "app_label=checkout", "restart.wpk.yaml"])
        #expect(plan.status == 0, "\(plan.standardOutput)\(plan.standardError)")
        #expect(plan.standardOutput.contains("Fingerprint: "))
        let schema = try installed.wpk(["schema"])
        #expect(schema.status == 0)
        let carried =
            schema.standardOutput == (try String(contentsOf: packageRoot.appendingPathComponent("specs/wpk_schema.yaml"), encoding: .utf8))
        #expect(carried, "wpk schema does not print specs/wpk_schema.yaml byte for byte")
        let json = try installed.wpk(["schema", "--format", "json"])
        #expect(json.status == 0)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        #expect(parsed["$id"] as? String == "https://wpk.example/schemas/wpk_schema.yaml")
        #expect(try installed.wpk(["schema", "--format", "xml"]).status == 2)
    }

    @Test("run executes a playbook from there", .enabled(if: canActAsRoot, needsRootComment))
    func run() throws {
        let installed = try Installation()
        let sandbox = try RunSandbox()
        try FileManager.default.copyItem(
            atPath: RunSandbox.fixture("shell-steps"), toPath: installed.work.appendingPathComponent("steps.wpk.yaml").path)
        let result = try installed.wpk(
            ["run", "--set", "state_dir=\(sandbox.state)", "steps.wpk.yaml"], environment: sandbox.environment,
            launch: sandbox.launch)
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        #expect(try sandbox.types(of: String(result.standardOutput.prefix { $0 != "\n" })).last == "run_finished")
    }

    @Test("review opens in a real terminal (tmux) and quits")
    func review() throws {
        let installed = try Installation()
        try writeFiles(["restart.wpk.yaml": try exampleText("restart-unhealthy")], in: installed.work)
        let session = try TmuxSession(width: 100, height: 30)
        try session.type(
            "cd '\(installed.work.path)' && LANG=C.UTF-8 '\(installed.binary.path)' review --read-only .; echo \"EXIT=$?\"", enter: true)
        try session.waitFor("the playbook list") { $0.contains("playbooks: 1 of 1") && $0.contains("restart-unhealthy") }
        try session.type("q")
        try session.waitFor("the review to quit") { $0.contains("EXIT=0") }
    }
}
