import Foundation

/// The package root, found from this file's location.
let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The `wpk` binary SwiftPM built with these tests: the one beside the test executable (`swift test`
/// builds every product into the same directory, also under `--scratch-path`), never a copy
/// elsewhere under `.build` that an earlier build left behind.
let wpkBinary: URL = {
    let testExecutable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    let beside = testExecutable.deletingLastPathComponent().appendingPathComponent("wpk")
    guard FileManager.default.isExecutableFile(atPath: beside.path) else {
        fatalError(
            "wpk is not beside the test executable \(testExecutable.path); build it with `swift build --build-tests` (or run `swift test`)")
    }
    return beside
}()

/// What a finished process printed and how it exited.
struct ProcessResult {
    var status: Int32
    var standardOutput: String
    var standardError: String
}

/// Runs the real `wpk` binary with arguments, optional standard input and extra environment,
/// started as `launch` says (a test policy, another account).
func runWPK(
    _ arguments: [String], input: String? = nil, environment: [String: String] = [:], directory: URL? = nil,
    launch: WPKLaunch = WPKLaunch()
) throws -> ProcessResult {
    let process = Process()
    let command = try launch.command(arguments)
    process.executableURL = URL(fileURLWithPath: command.executable)
    process.arguments = command.arguments
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "NO_COLOR")
    env["XDG_STATE_HOME"] = WPKLaunch.stateHome
    for (key, value) in environment { env[key] = value }
    process.environment = env
    if let directory { process.currentDirectoryURL = directory }
    let out = Pipe()
    let err = Pipe()
    let inPipe = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = inPipe
    try process.run()
    if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
    try inPipe.fileHandleForWriting.close()
    // Read both pipes before waiting, so a large output cannot block the child.
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus,
        standardOutput: String(decoding: outData, as: UTF8.self),
        standardError: String(decoding: errData, as: UTF8.self))
}

/// A fresh temporary directory, removed by the caller's `defer`.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("wpk-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes text files under a directory (creating subdirectories).
func writeFiles(_ files: [String: String], in directory: URL) throws {
    for (path, text) in files {
        let url = directory.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }
}

/// The text of a bundled example playbook.
func exampleText(_ name: String) throws -> String {
    try String(contentsOf: packageRoot.appendingPathComponent("examples/playbooks/\(name).wpk.yaml"), encoding: .utf8)
}
