import Foundation

extension Ledger {
    /// The ledger a command that runs or decides uses: the team ledger the machine policy names
    /// (then `--ledger` and `WPK_LEDGER` are refused, unless they name that same file), else the
    /// per-user one (single-user mode: `requested`, `WPK_LEDGER`, `$XDG_STATE_HOME/wpk/`, `~/.local/state/wpk/`).
    ///
    /// Fails with the reason when the policy cannot be trusted, names a ledger this wpk cannot
    /// use, or something else tries to choose the ledger.
    public static func chosen(
        by status: MachinePolicyStatus, requested: String?, environment: [String: String],
        home: String
    ) -> Result<Ledger, LedgerError> {
        let policy: MachinePolicy
        switch status {
        case .unsafe(let path, let reason):
            return .failure(LedgerError(.policy, Refusal.policyUnsafe(path: path, reason: reason).description))
        case .loaded(let loaded): policy = loaded
        }
        guard let team = policy.ledger else {
            var ledger = Ledger(path: requested ?? defaultPath(environment: environment, home: home))
            ledger.memory = LedgerHeadMemory.standard(environment: environment, home: home)
            return .success(ledger)
        }
        let source = policy.source ?? MachinePolicy.path
        if team.hasPrefix("postgresql://") || team.hasPrefix("postgres://") {
            return .failure(
                LedgerError(
                    .policy,
                    "\(source) names a PostgreSQL ledger, which this wpk cannot use yet; name a file ledger (ledger: /var/lib/wpk/ledger.jsonl) or install a wpk with the PostgreSQL backend"
                ))
        }
        if let refusal = LedgerChoice.otherLedgerRefusal(team: team, source: source, requested: requested, environment: environment) {
            return .failure(refusal)
        }
        var ledger = Ledger(path: team)
        ledger.isTeamLedger = true
        ledger.requireAppendOnly = policy.requireAppendOnly
        ledger.memory = LedgerHeadMemory.standard(environment: environment, home: home)
        return .success(ledger)
    }

    /// The ledger `wpk approvals list|verify` read: `--ledger FILE` (any file) when given, else the one `chosen(by:)` picks.
    public static func forReading(
        _ requested: String?, policy: MachinePolicyStatus, environment: [String: String],
        home: String
    ) -> Result<Ledger, LedgerError> {
        guard let requested else { return chosen(by: policy, requested: nil, environment: environment, home: home) }
        var ledger = Ledger(path: requested)
        ledger.memory = LedgerHeadMemory.standard(environment: environment, home: home)
        if case .loaded(let loaded) = policy, loaded.ledger == requested {
            ledger.isTeamLedger = true
            ledger.requireAppendOnly = loaded.requireAppendOnly
        }
        return .success(ledger)
    }
}
