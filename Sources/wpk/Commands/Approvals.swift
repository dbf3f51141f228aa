import ArgumentParser
import Foundation
import WPKCore
import WPKPostgres

/// `--ledger FILE`: shared by every command that reads or writes the ledger.
struct LedgerOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "The ledger file in single-user mode (default: $WPK_LEDGER, else $XDG_STATE_HOME/wpk/ledger.jsonl, else ~/.local/state/wpk/ledger.jsonl); refused where the machine policy names a team ledger."
    )
    var ledger: String?

    /// The ledger a command runs or decides on: the machine policy's team ledger, else the
    /// per-user one; when there is none it may use, says why and exits 1.
    func chosen(_ command: String, policy: MachinePolicyStatus) throws -> any LedgerBackend {
        try Self.chosen(command, requested: ledger, policy: policy)
    }

    /// The same for a command whose option has another name (`wpk review --ledger`).
    static func chosen(_ command: String, requested: String?, policy: MachinePolicyStatus) throws -> any LedgerBackend {
        try unwrap(
            command,
            LedgerChoice.chosen(
                by: policy, requested: requested, environment: ProcessInfo.processInfo.environment,
                home: NSHomeDirectory(), database: PostgresLedger.opener))
    }

    /// The ledger `approvals list|verify` read: `--ledger FILE` (any file), else as `chosen`.
    func forReading(_ command: String) throws -> any LedgerBackend {
        try Self.unwrap(
            command,
            LedgerChoice.forReading(
                ledger, policy: MachinePolicy.load(), environment: ProcessInfo.processInfo.environment,
                home: NSHomeDirectory(), database: PostgresLedger.opener))
    }

    static func unwrap(_ command: String, _ result: Result<any LedgerBackend, LedgerError>) throws -> any LedgerBackend {
        switch result {
        case .success(let ledger): return ledger
        case .failure(let error):
            printError("\(command): \(DisplaySanitizer.sanitize(error.message))")
            throw ExitCode(1)
        }
    }
}

/// Output formats of the approvals commands.
enum LedgerOutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

struct Approvals: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approvals",
        abstract: "List, verify or create the approval ledger, or show one run.",
        subcommands: [List.self, Verify.self, Show.self, Init.self, Migrate.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List gated steps and their decisions, pending first.",
            discussion: "Exit codes: 0 listed, 1 the ledger is damaged or unreadable (the intact part is still listed).")

        @OptionGroup var ledgerOptions: LedgerOptions
        @Option(help: "Output format: text or json.") var format: LedgerOutputFormat = .text
        @Option(help: "Only this playbook (its metadata.name, or a prefix of its digest).") var playbook: String?
        @Option(help: "Only this step (handler name).") var step: String?
        @Option(name: .customLong("run"), help: "Only gates this run waited at or used.") var runID: String?

        func run() throws {
            let ledger = try ledgerOptions.forReading("wpk approvals list")
            let reading: LedgerReading
            do {
                reading = try ledger.read()
            } catch {
                printError("wpk approvals list: \(error)")
                throw ExitCode(1)
            }
            let now = Date()
            let state = LedgerState(records: reading.records)
            let rows = state.overview(at: now).filter(matches)
            let runs = state.runOverview(at: now).filter { run in runID.map { $0 == run.history.id } ?? true }
                .filter { run in playbook.map { $0 == run.history.playbook } ?? true }
            switch format {
            case .json:
                guard case .object(var members) = ApprovalsOutput.listJSON(rows, ledger: ledger, reading: reading, now: now) else { return }
                members.append(("runs", ApprovalsOutput.runsJSON(runs, now: now)))
                writeOut(JSONValue.object(members).serialized(.pretty) + "\n")
            case .text:
                writeOut(ApprovalsOutput.listText(rows, ledger: ledger) + ApprovalsOutput.runsText(runs, now: now))
            }
            if let fault = reading.fault {
                printError(
                    "wpk approvals list: the ledger is damaged from \(fault); only the records before it are listed. Run `wpk approvals verify`."
                )
                throw ExitCode(1)
            }
        }

        private func matches(_ row: GateOverview) -> Bool {
            if let playbook {
                let digestHex = row.gate.key.playbookDigest.replacingOccurrences(of: "sha256:", with: "")
                let wanted = playbook.replacingOccurrences(of: "sha256:", with: "")
                guard row.gate.playbook == playbook || (wanted.count >= 6 && digestHex.hasPrefix(wanted)) else { return false }
            }
            if let step, row.gate.key.step != step { return false }
            if let run = runID {
                let gate = row.gate
                let involved =
                    gate.waiting.contains { $0.run == run } || gate.consumedRuns[run] != nil
                    || gate.expiredRuns[run] != nil || gate.approvals.contains { $0.run == run || $0.consumedBy?.run == run }
                    || gate.rejections.contains { $0.run == run }
                guard involved else { return false }
            }
            return true
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Verify the ledger's hash chain.",
            discussion: """
                Where the machine policy names allowed_signers, every approved and rejected record's signature \
                is checked too, and each one that does not verify is named on standard error. Also reports \
                whether the file has the append-only attribute. A ledger whose history no longer extends a head \
                this machine verified before (records removed from its end, or rewritten) is reported as rolled back.
                Exit codes: 0 the chain (and every signature the policy asks for) is intact, 1 it is not (the \
                first bad record is named), it was rolled back, or the ledger cannot be read.
                """)

        @OptionGroup var ledgerOptions: LedgerOptions
        @Option(help: "Output format: text or json.") var format: LedgerOutputFormat = .text

        func run() throws {
            let ledger = try ledgerOptions.forReading("wpk approvals verify")
            guard ledger.exists else {
                printError("wpk approvals verify: no ledger at \(DisplaySanitizer.sanitize(ledger.location))")
                throw ExitCode(1)
            }
            let reading: LedgerReading
            do {
                reading = try ledger.read()
            } catch {
                printError("wpk approvals verify: \(error)")
                throw ExitCode(1)
            }
            switch format {
            case .json: writeOut(ApprovalsOutput.verifyJSON(ledger: ledger, reading: reading).serialized(.pretty) + "\n")
            case .text: writeOut(ApprovalsOutput.verifyText(ledger: ledger, reading: reading))
            }
            let unverified = Self.unverifiedDecisions(reading.records)
            // On standard error, so the JSON on standard output stays one document.
            for problem in unverified { printError(problem) }
            if !reading.isIntact || !unverified.isEmpty { throw ExitCode(1) }
        }

        /// Where the machine policy names allowed_signers: every decision whose signature does not
        /// verify for a listed principal (forged, unsigned, expired signer), one line each.
        static func unverifiedDecisions(_ records: [LedgerRecord]) -> [String] {
            let signers = SignerPolicy.of(MachinePolicy.load())
            if case .unavailable(let reason) = signers {
                return ["wpk approvals verify: signatures cannot be checked: \(DisplaySanitizer.sanitize(reason))"]
            }
            guard signers.requiresSignatures else { return [] }
            return records.filter { $0.draft.type == .approved || $0.draft.type == .rejected }.compactMap { record in
                guard case .failure(let error) = signers.principal(of: record) else { return nil }
                return
                    "record \(record.seq) (\(record.draft.type.name) by \(DisplaySanitizer.sanitize(record.operatorName))) does not count: \(error.description)"
            }
        }
    }
}

extension Approvals {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create the team ledger the machine policy names (as root).",
            discussion: """
                For a PostgreSQL ledger (ledger: postgresql://ROLE@HOST/DB): creates the database, the client role \
                the URL names (it may only INSERT and SELECT), its password in the policy's ledger_password_file \
                (mode 0640, root and --group) and the versioned schema, signing in as --admin-url or else as the \
                local postgres account over the ledger's Unix socket. For a file:
                Creates the directory of the policy's `ledger:` (owned by root and --group, mode 2770) and the \
                ledger file (root and --group, mode 0660), and sets the Linux append-only attribute (chattr +a) \
                where the file system supports it. On an existing ledger it sets the same owners, modes and attribute. \
                The group must exist: add the approvers and run starters to it.
                Exit codes: 0 done (the output says whether the attribute is set), 1 refused or failed, 2 usage error.
                """)

        @Option(help: "The Unix group of the team: approvers and run starters.") var group: String = "wpk"

        @Option(
            name: .customLong("admin-url"),
            help: ArgumentHelp(
                "For a PostgreSQL ledger: a database administrator's URL (default: the local postgres account over the ledger's Unix socket).",
                valueName: "URL"))
        var adminURL: String?

        @Option(
            name: .customLong("admin-password-file"),
            help: ArgumentHelp(
                "A root-owned file holding the --admin-url account's password, if the server asks for one.", valueName: "FILE"))
        var adminPasswordFile: String?

        /// Creates the database, the client role the URL names (its password written to the
        /// policy's `ledger_password_file`, 0640 root:--group, when that file does not exist), the
        /// versioned schema and the role's INSERT and SELECT privileges; upgrades an older schema.
        private func initializeDatabase(_ location: String, passwordFile: String?) throws {
            let s = DisplaySanitizer.sanitize
            do throws(LedgerError) {
                let url = try PostgresURL(parsing: location)
                let administrator = PostgresLedgerSetup.Administrator(
                    url: try adminURL.map { (text) throws(LedgerError) in try PostgresURL(parsing: text) },
                    password: try adminPasswordFile.map { (file) throws(LedgerError) in try PostgresPasswordFile.read(file) })
                for line in try PostgresLedgerSetup.initialize(
                    ledger: url, passwordFile: passwordFile, administrator: administrator, group: group)
                {
                    writeOut(s(line) + "\n")
                }
            } catch {
                printError("wpk approvals init: \(s(error.message))")
                throw ExitCode(1)
            }
        }

        func run() throws {
            let s = DisplaySanitizer.sanitize
            guard getuid() == 0 else {
                printError("wpk approvals init: run it as root: it sets owners, modes and the append-only attribute")
                throw ExitCode(1)
            }
            let policy: MachinePolicy
            switch MachinePolicy.load() {
            case .unsafe(let path, let reason):
                printError("wpk approvals init: \(s(Refusal.policyUnsafe(path: path, reason: reason).description))")
                throw ExitCode(1)
            case .loaded(let loaded): policy = loaded
            }
            guard let path = policy.ledger else {
                printError(
                    "wpk approvals init: \(MachinePolicy.path) names no team ledger; add a line such as `ledger: /var/lib/wpk/ledger.jsonl` to it first"
                )
                throw ExitCode(1)
            }
            guard let entry = getgrnam(group) else {
                printError(
                    "wpk approvals init: there is no group \(s(group)); create it first (groupadd \(s(group))) and add the approvers and run starters to it"
                )
                throw ExitCode(1)
            }
            if LedgerChoice.isDatabase(path) {
                try initializeDatabase(path, passwordFile: policy.ledgerPasswordFile)
                return
            }
            guard path.hasPrefix("/") else {
                printError(
                    "wpk approvals init: \(MachinePolicy.path) names the ledger \(s(path)), which is neither an absolute file path nor a postgresql:// URL"
                )
                throw ExitCode(1)
            }
            let report: LedgerSetupReport
            do {
                report = try Ledger.setUpTeamFile(path: path, group: UInt32(entry.pointee.gr_gid))
            } catch {
                printError("wpk approvals init: \(s(error.message))")
                throw ExitCode(1)
            }
            let directory = (path as NSString).deletingLastPathComponent
            writeOut("\(report.createdDirectory ? "created" : "set") \(s(directory)): owner root, group \(s(group)), mode 2770\n")
            writeOut("\(report.createdFile ? "created" : "set") \(s(path)): owner root, group \(s(group)), mode 0660\n")
            if report.appendOnly {
                writeOut("append-only attribute: set (records can be added, never changed or removed, even by the owner)\n")
            } else {
                writeOut("append-only attribute: NOT set: \(s(report.appendOnlyProblem ?? "unknown"))\n")
                if policy.requireAppendOnly {
                    printError(
                        "wpk approvals init: the policy requires the append-only attribute (require_append_only: true), so the ledger cannot be used until it is set"
                    )
                    throw ExitCode(1)
                }
            }
        }
    }
}

/// Text and JSON printers for `wpk approvals`; every stored name and reason is sanitized for the terminal.
enum ApprovalsOutput {
    static func listText(_ rows: [GateOverview], ledger: any LedgerBackend) -> String {
        let s = DisplaySanitizer.sanitize
        if rows.isEmpty { return "No gated steps in \(s(ledger.location)).\n" }
        var out = ""
        for row in rows {
            let gate = row.gate
            let need = row.approvalsRequired.map(String.init) ?? "?"
            let names = row.liveApprovers.map { s($0.name) }.joined(separator: ", ")
            var line = "\(row.status.rawValue.uppercased().padding(toLength: 9, withPad: " ", startingAt: 0)) "
            line += "\(s(gate.playbook ?? "?")) step \(s(gate.key.step)) plan \(shortDigest(gate.key.planDigest))"
            line += "  \(row.liveApprovers.count)/\(need) approvals" + (names.isEmpty ? "" : " (\(names))")
            if !row.waitingRuns.isEmpty { line += "  waiting: \(row.waitingRuns.map(s).joined(separator: ", "))" }
            if let rejection = gate.rejections.first { line += "  rejected by \(s(rejection.rejecter.name)): \(s(rejection.reason))" }
            out += line + "\n"
        }
        return out
    }

    /// Runs, waiting ones first with how long they have waited.
    static func runsText(_ runs: [RunOverview], now: Date) -> String {
        let s = DisplaySanitizer.sanitize
        var out = ""
        for run in runs {
            let history = run.history
            var line = "run \(s(history.id)) "
            switch run.status {
            case .waiting(let step, _, let deadline):
                line += "waiting at \(s(step)) for \(duration(run.waitedSeconds(at: now) ?? 0))"
                if let deadline { line += " (deadline \(RFC3339.format(deadline)))" }
            case .running(let steps):
                line += steps.isEmpty ? "running" : "running \(steps.map(s).joined(separator: ", "))"
            case .processGone(let open):
                line +=
                    open.isEmpty
                    ? "stopped without finishing (its process is gone)"
                    : "OUTCOME UNKNOWN for \(open.map(s).joined(separator: ", ")) (its process is gone; never retried automatically)"
            case .ended(let outcome):
                line += s(outcome)
            }
            line +=
                "  \(s(history.playbook ?? "?")) plan \(shortDigest(history.planDigest ?? "")) started \(RFC3339.format(history.startedAt)) by \(s(history.starter.name))"
            if let origin = history.startedBy, origin.kind != .cli { line += " via \(s(origin.summary))" }
            out += line + "\n"
        }
        return out
    }

    /// `90s`, `5m 3s`, `2h 5m`: how long a run has waited.
    static func duration(_ seconds: Int) -> String {
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3600 { return "\(seconds / 60)m \(seconds % 60)s" }
        return "\(seconds / 3600)h \(seconds / 60 % 60)m"
    }

    static func runsJSON(_ runs: [RunOverview], now: Date) -> JSONValue {
        .array(
            runs.map { run in
                let history = run.history
                var members: [(key: String, value: JSONValue)] = [
                    ("run", .string(history.id)),
                    ("status", .string(run.status.name)),
                    ("playbook", .optional(history.playbook)),
                    ("playbook_digest", .optional(history.playbookDigest)),
                    ("plan_digest", .optional(history.planDigest)),
                    ("started", .string(RFC3339.format(history.startedAt))),
                    ("operator", .string(history.starter.name)),
                ]
                if let origin = history.startedBy { members.append(("started_by", origin.json)) }
                switch run.status {
                case .waiting(let step, let since, let deadline):
                    members += [
                        ("step", .string(step)), ("waiting_since", .string(RFC3339.format(since))),
                        ("waited_seconds", .int(run.waitedSeconds(at: now) ?? 0)),
                        ("deadline", .optional(deadline.map(RFC3339.format))),
                    ]
                case .running(let steps):
                    members.append(("steps", .array(steps.map(JSONValue.string))))
                case .processGone(let open):
                    members.append(("outcome_unknown_steps", .array(open.map(JSONValue.string))))
                case .ended:
                    break
                }
                return .object(members)
            })
    }

    static func listJSON(_ rows: [GateOverview], ledger: any LedgerBackend, reading: LedgerReading, now: Date) -> JSONValue {
        .object([
            ("version", .int(1)),
            ("ledger", .string(ledger.location)),
            ("intact", .bool(reading.isIntact)),
            (
                "gates",
                .array(
                    rows.map { row in
                        let gate = row.gate
                        return .object([
                            ("status", .string(row.status.rawValue)),
                            ("playbook", .optional(gate.playbook)),
                            ("playbook_digest", .string(gate.key.playbookDigest)),
                            ("plan_digest", .string(gate.key.planDigest)),
                            ("step", .string(gate.key.step)),
                            ("approvals_required", row.approvalsRequired.map(JSONValue.int) ?? .null),
                            (
                                "approvals",
                                .array(
                                    gate.approvals.map { approval in
                                        .object([
                                            ("seq", .int(approval.seq)),
                                            ("operator", .string(approval.approver.name)),
                                            ("time", .string(RFC3339.format(approval.time))),
                                            ("expires", .optional(approval.expires.map(RFC3339.format))),
                                            ("run", .optional(approval.run)),
                                            ("live", .bool(approval.isLive(at: now))),
                                            ("consumed_by", .optional(approval.consumedBy?.run)),
                                        ])
                                    })
                            ),
                            (
                                "rejections",
                                .array(
                                    gate.rejections.map { rejection in
                                        .object([
                                            ("seq", .int(rejection.seq)),
                                            ("operator", .string(rejection.rejecter.name)),
                                            ("time", .string(RFC3339.format(rejection.time))),
                                            ("reason", .string(rejection.reason)),
                                        ])
                                    })
                            ),
                            ("waiting_runs", .array(row.waitingRuns.map(JSONValue.string))),
                            ("expired_runs", .array(gate.expiredRuns.keys.sorted().map(JSONValue.string))),
                            ("last_seq", .int(gate.lastSeq)),
                        ])
                    })
            ),
        ])
    }

    static func verifyText(ledger: any LedgerBackend, reading: LedgerReading) -> String {
        let path = DisplaySanitizer.sanitize(ledger.location)
        var out: String
        if let fault = reading.fault {
            out =
                "\(path): BROKEN: \(DisplaySanitizer.sanitize(fault.description)) (at byte \(fault.offset)); the \(reading.records.count) record(s) before it verify\n"
        } else {
            out = "\(path): intact, \(reading.records.count) records, head \(reading.head)\n"
        }
        switch (ledger as? Ledger)?.appendOnlyAttribute() {
        case _ where !(ledger is Ledger):
            out +=
                "append-only: enforced by the database (UPDATE, DELETE and TRUNCATE refused by triggers; clients may only INSERT and SELECT)\n"
        case true?: out += "append-only attribute: set\n"
        case false?: out += "append-only attribute: NOT set (as root: chattr +a \(path))\n"
        case nil: out += "append-only attribute: unknown (the file system does not report it)\n"
        }
        if reading.tornTailBytes > 0 {
            out +=
                "note: \(reading.tornTailBytes) bytes after the last record are an unfinished write (never acknowledged); the next append sets them aside in \(path).torn\n"
        }
        return out
    }

    static func verifyJSON(ledger: any LedgerBackend, reading: LedgerReading) -> JSONValue {
        .object([
            ("version", .int(1)),
            ("ledger", .string(ledger.location)),
            ("intact", .bool(reading.isIntact)),
            ("records", .int(reading.records.count)),
            ("head", .string(reading.head)),
            ("torn_tail_bytes", .int(reading.tornTailBytes)),
            ("append_only", ledger is Ledger ? (ledger as? Ledger)?.appendOnlyAttribute().map(JSONValue.bool) ?? .null : .bool(true)),
            (
                "first_bad",
                reading.fault.map { fault in
                    .object([
                        ("line", .int(fault.line)),
                        ("seq", fault.claimedSeq.map(JSONValue.int) ?? .null),
                        ("offset", .int(fault.offset)),
                        ("problem", .string(fault.problem)),
                    ])
                } ?? .null
            ),
        ])
    }

    /// The first 12 hex digits of a digest: what operators quote with `--plan`.
    static func shortDigest(_ digest: String) -> String {
        String(digest.replacingOccurrences(of: "sha256:", with: "").prefix(12))
    }
}

extension Approvals {
    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "migrate",
            abstract: "Copy a JSON Lines ledger into the PostgreSQL ledger the machine policy names.",
            discussion: """
                The file is verified first (a damaged one is refused), then copied byte for byte in one \
                transaction, and the copy is read back: it must verify to the same head. The database ledger \
                must be empty or already hold the file's beginning (a copy cut short is continued).
                Exit codes: 0 copied and verified, 1 refused or failed.
                """)

        @Option(name: .customLong("from"), help: ArgumentHelp("The JSON Lines ledger to copy.", valueName: "FILE"))
        var from: String

        func run() throws {
            let s = DisplaySanitizer.sanitize
            let policy = MachinePolicy.load()
            guard case .loaded(let loaded) = policy, let location = loaded.ledger, LedgerChoice.isDatabase(location) else {
                printError(
                    "wpk approvals migrate: \(MachinePolicy.path) names no PostgreSQL ledger to copy into; add `ledger: postgresql://...` and run `wpk approvals init` first"
                )
                throw ExitCode(1)
            }
            let target = try LedgerOptions.chosen("wpk approvals migrate", requested: nil, policy: policy)
            guard let database = target as? PostgresLedger else { throw ExitCode(1) }
            var file = Ledger(path: from)
            file.memory = LedgerHeadMemory.standard(environment: ProcessInfo.processInfo.environment, home: NSHomeDirectory())
            do {
                let (copied, total) = try PostgresLedgerSetup.migrate(from: file, to: database)
                let head = try database.read().head
                writeOut(
                    "copied \(copied) of \(total) records from \(s(from)) into \(s(database.location)); the copy verifies to the same head \(head)\n"
                )
            } catch {
                printError("wpk approvals migrate: \(s(String(describing: error)))")
                throw ExitCode(1)
            }
        }
    }
}
