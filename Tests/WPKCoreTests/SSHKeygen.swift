import Foundation
import Testing

// Shared by WPKCoreTests and WPKPostgresTests (a symbolic link there): each target has its own
// `TemporaryDirectory`.

/// `ssh-keygen` as the peer the Swift verifier is checked against.
enum SSHKeygen {
    static let path = ["/usr/bin/ssh-keygen", "/bin/ssh-keygen", "/usr/local/bin/ssh-keygen"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Whether the tests that need it can run; without it they are skipped locally and fail in CI.
    static var isPresent: Bool { path != nil }

    struct Result {
        var status: Int32
        var output: String
        var errors: String
    }

    @discardableResult
    static func run(_ arguments: [String], input: [UInt8]? = nil, environment: [String: String]? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path ?? "/usr/bin/ssh-keygen")
        process.arguments = arguments
        if let environment { process.environment = environment }
        let inPipe = Pipe()
        let out = Pipe()
        let err = Pipe()
        process.standardInput = inPipe
        process.standardOutput = out
        process.standardError = err
        try process.run()
        if let input { inPipe.fileHandleForWriting.write(Data(input)) }
        try inPipe.fileHandleForWriting.close()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, output: String(decoding: outData, as: UTF8.self),
            errors: String(decoding: errData, as: UTF8.self))
    }

    /// A key pair made by `ssh-keygen -t TYPE -N ''` in `directory`.
    static func makeKey(_ type: String, named name: String, in directory: TemporaryDirectory) throws -> (
        privatePath: String, publicText: String
    ) {
        let file = directory.file(name)
        var arguments = ["-q", "-t", type, "-N", "", "-C", "\(name)@test", "-f", file]
        if type == "ecdsa" { arguments += ["-b", "256"] }
        if type == "rsa" { arguments += ["-b", "2048"] }
        let result = try run(arguments)
        guard result.status == 0 else { throw KeygenFailed(message: result.errors) }
        let text = try String(contentsOfFile: file + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return (file, text)
    }

    struct KeygenFailed: Error { var message: String }
}

/// Records the reason a peer-dependent test did not run; in CI a missing peer is a failure.
func requireSSHKeygen() -> Bool {
    if SSHKeygen.isPresent { return true }
    print("ssh-keygen not found: the SSHSIG cross-checks are skipped (apt-get install openssh-client)")
    #expect(ProcessInfo.processInfo.environment["CI"] == nil, "ssh-keygen must be present in CI")
    return false
}
