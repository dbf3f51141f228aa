import Foundation
import WPKCore

/// The signature trust of this machine, from its policy: what validate, plan, review and run
/// check playbook signatures against.
enum MachineTrust {
    /// `rememberingVerdicts`: verified signatures are remembered in the user's cache
    /// (`signature-verified.log`), for `wpk validate` only; what decides (plan, run) verifies each time.
    static func load(rememberingVerdicts: Bool = false, policy: MachinePolicyStatus = MachinePolicy.load()) -> PlaybookSignatureTrust {
        var trust = PlaybookSignatureTrust(policyStatus: policy)
        if rememberingVerdicts { trust.rememberedVerdicts = VerdictLog.standard(kind: "signature-verified") }
        return trust
    }

    /// A checker under this machine's policy: its signature trust and its gate floor (the rules
    /// report what the floor forbids; the planner gates what it names).
    static func checker(schema: CompiledSchema?, appliesRules: Bool = true, recordsDigest: Bool = true, rememberingVerdicts: Bool = false)
        -> PlaybookChecker
    {
        let policy = MachinePolicy.load()
        return PlaybookChecker(
            schema: schema, appliesRules: appliesRules, recordsDigest: recordsDigest,
            signatures: appliesRules ? load(rememberingVerdicts: rememberingVerdicts, policy: policy) : nil,
            gateFloor: policy.gateFloor)
    }
}
