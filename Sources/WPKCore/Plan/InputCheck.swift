/// One declared input as a form asks for it: what it is, what it accepts, what it defaults to.
public struct InputDeclaration: Sendable, Equatable {
    public var name: String
    /// `string`, `integer`, `number` or `boolean`.
    public var type: String
    public var pattern: String?
    /// The default as written (a scalar's text), nil when there is none.
    public var defaultValue: String?
    public var description: String?
    public var required: Bool
    /// A secret is read at run time from `secretRef`; it never takes a typed value.
    public var secret: Bool
    public var secretRef: String?

    /// An input's declaration from the playbook.
    public init(_ input: Playbook.Input) {
        self.name = input.name.value
        self.type = input.type ?? "string"
        self.pattern = input.pattern
        self.defaultValue = input.defaultValue?.scalar?.text
        self.description = input.description
        self.required = input.required
        self.secret = input.secret
        self.secretRef = input.secretRef?.value
    }

    /// A declaration from its fields.
    public init(
        name: String, type: String = "string", pattern: String? = nil, defaultValue: String? = nil, description: String? = nil,
        required: Bool = false, secret: Bool = false, secretRef: String? = nil
    ) {
        self.name = name
        self.type = type
        self.pattern = pattern
        self.defaultValue = defaultValue
        self.description = description
        self.required = required
        self.secret = secret
        self.secretRef = secretRef
    }

    /// Every input a playbook declares, in document order (the first of a repeated name).
    public static func all(_ root: Node) -> [InputDeclaration] {
        var seen = Set<String>()
        return Playbook(root: root).inputs.filter { seen.insert($0.name.value).inserted }.map(InputDeclaration.init)
    }
}

/// Input values checked by exactly the rules a plan applies to `--set` values: type, range,
/// pattern and length (`InputResolver`), then the argument-safety rules of substitution where
/// each value is used (`Substituter`), by planning with them. What a form shows as it is typed.
public struct InputCheck: Sendable {
    /// The longest value one input may have, as the planner bounds it.
    public static let maxValueBytes = InputResolver.maxValueBytes

    /// Each input's problems with its value, by input name (absent: the value fits).
    public var problems: [String: [String]]
    /// Problems that are no single input's (a step that cannot be planned whatever the values).
    public var general: [String]
    /// The plan made with the values, when there is no problem.
    public var plan: Plan?

    /// Checks `given` (input name to typed text; a missing name takes its default) against the
    /// playbook in `document`, as `wpk plan --set` would.
    public static func check(
        _ document: Document, path: String, digest: String, inputs given: [String: String],
        signature: PlaybookSignatureCheck? = nil
    ) -> InputCheck {
        let playbook = Playbook(root: document.root)
        var owner: [String: String] = [:]
        for input in playbook.inputs where owner[input.name.pointer] == nil {
            owner[input.name.pointer] = input.name.value
            owner[input.pointer + "/default"] = input.name.value
        }
        var check = InputCheck(problems: [:], general: [], plan: nil)
        switch Planner.plan(document, path: path, digest: digest, inputs: given, signature: signature) {
        case .success(let plan):
            check.plan = plan
        case .failure(let failure):
            let refused = Set(failure.refusedValues.map(\.input))
            for (input, message) in failure.refusedValues { check.problems[input, default: []].append(message) }
            for diagnostic in failure.diagnostics {
                if let name = owner[diagnostic.pointer] {
                    // The resolver's own findings (type, pattern, range, missing) sit on the input.
                    check.problems[name, default: []].append(diagnostic.message)
                } else if !isAboutRefusedValue(diagnostic, refused) {
                    check.general.append(diagnostic.message)
                }
            }
        }
        return check
    }

    /// Whether a substitution diagnostic is one already told as an input's refused value.
    private static func isAboutRefusedValue(_ diagnostic: Diagnostic, _ refused: Set<String>) -> Bool {
        guard let code = PlanCode(rawValue: diagnostic.code), code != .unplannable, code != .paramType else { return false }
        return [PlanCode.leadingDash, .controlCharacter, .grammar, .reservedText, .missingInput].contains(code) && !refused.isEmpty
    }
}
