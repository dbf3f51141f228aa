import ArgumentParser
import Foundation
import WPKCore

/// `--key`: the key that signs decisions and `run_started` (ssh-keygen -Y sign, namespace wpk-decision).
struct SigningOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The SSH key that signs the record: a private key, or a .pub whose private half is in your SSH agent (default: $WPK_SIGNING_KEY, else the first agent key allowed_signers lists, else ~/.ssh/id_ed25519 or ~/.ssh/id_ecdsa).",
            valueName: "FILE"))
    var key: String?

    /// The signer for `policy`. Where the policy names `allowed_signers`, a key is required and
    /// the principal is the one listed for it; in single-user mode only an explicit key signs.
    /// `required`: a missing or unusable key is an error (decisions); otherwise (run_started) it
    /// is reported and the record goes unsigned, unless `--key` was given explicitly.
    func signer(policy: MachinePolicyStatus, required: Bool, now: Date = Date()) throws -> (any RecordSigner)? {
        guard case .loaded(let machine) = policy else { return nil }  // refused later with the policy's reason
        let environment = ProcessInfo.processInfo.environment
        do {
            var signers: AllowedSigners?
            if let path = machine.allowedSigners {
                do { signers = try AllowedSigners.load(path: path) } catch {
                    throw SigningError("no decision can be signed: \(error)")
                }
            }
            return try SSHSigner.find(
                explicitKey: key, signers: signers, accountName: Operator.current().name,
                environment: environment, home: NSHomeDirectory(), now: now)
        } catch let error as SigningError {
            let explicit = key != nil || !(environment["WPK_SIGNING_KEY"] ?? "").isEmpty
            if required || explicit {
                printError("wpk: \(DisplaySanitizer.sanitize(error.message))")
                throw ExitCode(1)
            }
            printError("wpk: note: run_started is not signed (\(DisplaySanitizer.sanitize(error.message)))")
            return nil
        }
    }
}

/// A signer that gives the terminal to ssh-keygen while it signs (a passphrase prompt), then
/// takes it back: the review UI suspends curses around it.
struct TerminalHandingSigner: RecordSigner, @unchecked Sendable {
    let inner: any RecordSigner
    let handOver: (() -> Void) -> Void

    var principal: String { inner.principal }
    var publicKey: SSHPublicKey { inner.publicKey }

    func sign(_ content: [UInt8]) throws(SigningError) -> String {
        var result: Result<String, SigningError> = .failure(SigningError("not signed"))
        handOver {
            do throws(SigningError) { result = .success(try inner.sign(content)) } catch { result = .failure(error) }
        }
        return try result.get()
    }
}
