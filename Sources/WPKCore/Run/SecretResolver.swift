import Foundation

/// Why a secret could not be read; the text never contains a secret value.
public struct SecretUnavailable: Error, Sendable, Equatable, CustomStringConvertible {
    /// The reference as written (`vault:kv/x#key`), never a value.
    public var reference: String
    /// What went wrong.
    public var problem: String
    /// One sentence for people.
    public var description: String { "secret \(reference) is unavailable: \(problem)" }
}

/// Reads secret values when a step is about to start, from the reference the plan names:
/// `env:NAME` from wpk's environment, `file:/path` from the file, `vault:PATH#KEY` by running the
/// `vault` CLI (`vault kv get -field=KEY PATH`). Values reach only the child (its environment or standard input), never an argv.
public struct SecretResolver: Sendable {
    /// Where `env:` references are read, and the environment `vault` runs with.
    public var environment: [String: String]
    /// The `vault` program to run; nil looks it up on `PATH`.
    public var vaultProgram: String?
    /// How long `vault` may take.
    public var timeoutSeconds: Double

    /// A resolver over `environment`.
    public init(environment: [String: String], vaultProgram: String? = nil, timeoutSeconds: Double = 30) {
        self.environment = environment
        self.vaultProgram = vaultProgram
        self.timeoutSeconds = timeoutSeconds
    }

    /// The value of one reference.
    public func value(of reference: SecretReference, stopWatch: StopWatch? = nil) -> Result<String, SecretUnavailable> {
        func unavailable(_ problem: String) -> Result<String, SecretUnavailable> {
            .failure(SecretUnavailable(reference: reference.written, problem: problem))
        }
        switch reference.store {
        case "env":
            guard let value = environment[reference.path] else {
                return unavailable("the environment variable \(reference.path) is not set")
            }
            return .success(value)
        case "file":
            guard let data = FileManager.default.contents(atPath: reference.path), data.count <= 1 << 20 else {
                return unavailable("cannot read \(reference.path)")
            }
            return .success(Self.trimmingOneNewline(String(decoding: data, as: UTF8.self)))
        case "vault":
            guard let key = reference.key else { return unavailable("a Vault reference needs #KEY") }
            let spec = ProcessSpec(
                arguments: ["vault", "kv", "get", "-field=\(key)", reference.path], environment: environment,
                timeoutSeconds: timeoutSeconds, gracePeriodSeconds: 2, outputCap: 1 << 20, executable: vaultProgram)
            let outcome = StepProcess.run(spec, stopWatch: stopWatch)
            switch outcome.ending {
            case .exited(code: 0) where outcome.stop == nil:
                return .success(Self.trimmingOneNewline(String(decoding: outcome.output, as: UTF8.self)))
            case .notStarted(let why):
                return unavailable(why)
            default:
                // vault's own message may echo input but not the secret it failed to read.
                return unavailable("vault kv get failed (\(outcome.ending))")
            }
        default:
            return unavailable("unknown secret store \(reference.store)")
        }
    }

    /// Command output ends with a newline that is not part of the value.
    static func trimmingOneNewline(_ text: String) -> String {
        text.hasSuffix("\n") ? String(text.dropLast()) : text
    }
}
