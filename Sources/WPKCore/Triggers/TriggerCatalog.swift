import Foundation

/// The triggers of a set of playbooks, read once (and again on reload): which playbook a webhook
/// path, an alert or a schedule starts. Invalid playbooks and unusable triggers are reported and
/// left out, never half-used.
public struct TriggerCatalog: Sendable {
    /// One trigger of one valid playbook.
    public struct Entry: Sendable {
        /// The playbook file, as `wpk run` is given it.
        public var path: String
        public var playbookName: String
        public var trigger: Playbook.Trigger
        /// `validation.limits.max_concurrency`: simultaneous runs `wpk serve` starts of this playbook.
        public var maxConcurrency: Int?
    }

    /// A webhook trigger with its HMAC key (nil when the key cannot be read: every request is refused).
    public struct Webhook: Sendable {
        public var entry: Entry
        public var key: [UInt8]?
    }

    /// Webhook triggers by path.
    public private(set) var webhooks: [String: Webhook] = [:]
    /// Event triggers whose source is Alertmanager.
    public private(set) var alerts: [Entry] = []
    /// Schedules, each parsed.
    public private(set) var schedules: [(entry: Entry, schedule: CronSchedule)] = []
    /// One line per playbook or trigger left out, and why (file paths and messages sanitized).
    public private(set) var problems: [String] = []
    /// How many valid playbooks were read.
    public private(set) var playbookCount = 0

    /// An empty catalog.
    public init() {}

    /// Reads every playbook under `paths` (as `wpk validate` finds them), checks each with
    /// `checker`, and collects the triggers of the valid ones; webhook keys are read with `secrets`.
    public static func load(paths: [String], checker: PlaybookChecker, secrets: SecretResolver) -> TriggerCatalog {
        var catalog = TriggerCatalog()
        let s = DisplaySanitizer.sanitize
        for input in PlaybookFinder(paths) {
            guard case .file(let path) = input else {
                if case .unusable(let path, let reason) = input { catalog.problems.append("\(s(path)): skipped: \(s(reason))") }
                continue
            }
            guard case .success(let bytes) = SourceReader.contents(of: input, limit: checker.limits.maxFileBytes) else {
                catalog.problems.append("\(s(path)): skipped: cannot be read")
                continue
            }
            let report = checker.check(bytes: bytes, path: path)
            guard report.isValid, let document = try? YAMLLoader.load(bytes, limits: checker.limits) else {
                let first = report.diagnostics.first { $0.severity == .error }
                let at = first?.mark.map { ":\($0.line):\($0.column)" } ?? ""
                catalog.problems.append(
                    "\(s(path))\(at): skipped: invalid playbook: \(s(first?.message ?? "unreadable")) [\(first?.code ?? "")]")
                continue
            }
            catalog.playbookCount += 1
            catalog.add(Playbook(root: document.root), path: path, secrets: secrets)
        }
        return catalog
    }

    private mutating func add(_ playbook: Playbook, path: String, secrets: SecretResolver) {
        let s = DisplaySanitizer.sanitize
        let name = playbook.metadata.name?.value ?? path
        for trigger in playbook.triggers {
            let entry = Entry(
                path: path, playbookName: name, trigger: trigger, maxConcurrency: playbook.validation.limits.maxConcurrency?.value)
            let place = "\(s(path)): trigger \(s(trigger.pointer))"
            switch trigger.kind?.value {
            case "webhook":
                guard let hookPath = trigger.path else { continue }
                guard hookPath != "/alertmanager", hookPath != "/healthz", hookPath != "/metrics" else {
                    problems.append("\(place): skipped: \(s(hookPath)) is one of wpk serve's own paths")
                    continue
                }
                if let other = webhooks[hookPath] {
                    problems.append("\(place): skipped: path \(s(hookPath)) is already the webhook of \(s(other.entry.path))")
                    continue
                }
                var key: [UInt8]?
                switch webhookKey(trigger, playbook, secrets) {
                case .success(let bytes): key = bytes
                case .failure(let problem):
                    problems.append("\(place): every request to \(s(hookPath)) is refused: \(s(problem.description))")
                }
                webhooks[hookPath] = Webhook(entry: entry, key: key)
            case "event":
                if trigger.source == "alertmanager" {
                    alerts.append(entry)
                } else {
                    problems.append("\(place): skipped: wpk serve receives events from alertmanager only, not \(s(trigger.source ?? "?"))")
                }
            case "schedule":
                guard let cron = trigger.cron?.value else { continue }
                do {
                    schedules.append((entry, try CronSchedule(cron, timeZone: trigger.timezone?.value ?? "UTC")))
                } catch {
                    problems.append("\(place): skipped: \(s(error.message))")
                }
            default:
                continue
            }
        }
    }

    /// The HMAC key of a webhook: the value of its `secret_input`, read as a run reads secrets.
    private func webhookKey(_ trigger: Playbook.Trigger, _ playbook: Playbook, _ secrets: SecretResolver) -> Result<
        [UInt8], SecretUnavailable
    > {
        guard let name = trigger.secretInput else {
            return .failure(SecretUnavailable(reference: "secret_input", problem: "the trigger names no secret_input"))
        }
        guard let input = playbook.inputs.first(where: { $0.name.value == name }), input.secret,
            let reference = input.secretRef.flatMap({ SecretReference($0.value) })
        else {
            return .failure(SecretUnavailable(reference: name, problem: "secret_input must name a secret input with a secret_ref"))
        }
        switch secrets.value(of: reference) {
        case .success(let value) where !value.isEmpty: return .success(Array(value.utf8))
        case .success: return .failure(SecretUnavailable(reference: reference.written, problem: "the key is empty"))
        case .failure(let problem): return .failure(problem)
        }
    }
}
