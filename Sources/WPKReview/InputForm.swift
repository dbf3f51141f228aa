import WPKCore

/// One declared input in the inputs form, with what has been typed and what the planner says of it.
public struct InputField: Equatable, Sendable {
    public var declaration: InputDeclaration
    /// What the operator typed; empty means the default applies (or, when required without one, a value is missing).
    public var value: String
    /// The planner's problems with the value, as last checked.
    public var problems: [String] = []

    /// A field for a declaration, prefilled with a value.
    public init(_ declaration: InputDeclaration, value: String = "") {
        self.declaration = declaration
        self.value = value
    }

    /// Whether a value can be typed here (a secret is read at run time, never typed).
    public var isTypable: Bool { !declaration.secret }
}

/// The inputs form (`i`): every declared input of one playbook, checked as it is typed by the
/// planner's own rules, then planned with on Enter.
public struct InputForm: Equatable, Sendable {
    /// The playbook the values are for.
    public var path: String
    public var fields: [InputField]
    /// The field keys go to.
    public var focus = 0
    /// Problems that are no single input's.
    public var general: [String] = []
    /// Whether `problems` and `general` are the answer for the values now in the fields.
    public var checked = false

    /// A form over a playbook's declared inputs, prefilled with the values its plan was made with.
    public init(path: String, inputs: [InputDeclaration], values: [String: String]) {
        self.path = path
        self.fields = inputs.map { InputField($0, value: $0.secret ? "" : values[$0.name] ?? "") }
        self.focus = fields.firstIndex(where: \.isTypable) ?? 0
    }

    /// The values to plan with: every non-empty typed field (an empty one takes its default).
    public var values: [String: String] {
        var out: [String: String] = [:]
        for field in fields where field.isTypable && !field.value.isEmpty { out[field.declaration.name] = field.value }
        return out
    }

    /// Whether every value was checked and none has a problem.
    public var isAcceptable: Bool { checked && general.isEmpty && fields.allSatisfy { $0.problems.isEmpty } }
}

extension ReviewState {
    /// Opens the inputs form for the open playbook, or asks for it to be loaded first (from the list).
    mutating func startInputs() -> [Effect] {
        if openPath == nil {
            guard let entry = selectedEntry else { return [] }
            openPath = entry.path
            open = nil
            pane = .plan
            paneScroll = [:]
            inputsRequested = true
            return [.loadDetail(path: entry.path)]
        }
        return openInputForm()
    }

    /// The form over the loaded playbook's inputs, checked at once so problems show before typing.
    mutating func openInputForm() -> [Effect] {
        inputsRequested = false
        guard let detail = open?.detail else { return [] }
        guard !detail.inputs.isEmpty else {
            status = StatusMessage("\(detail.entry.name) declares no inputs: its plan is on the Plan pane", style: .warning)
            pane = .plan
            return []
        }
        let form = InputForm(path: detail.entry.path, inputs: detail.inputs, values: detail.inputValues)
        overlay = .inputs(form)
        return [.checkInputs(path: form.path, values: form.values)]
    }

    /// Keys in the inputs form: move between fields, type and delete (each change is checked),
    /// Enter plans with the values when none has a problem, Esc leaves the plan as it was.
    mutating func handle(_ key: Key, in form: InputForm) -> [Effect] {
        var form = form
        func moveFocus(_ delta: Int) {
            form.focus = max(0, min(form.fields.count - 1, form.focus + delta))
        }
        switch key {
        case .escape:
            overlay = nil
            status = StatusMessage("inputs unchanged", style: .warning)
            return []
        case .up, .backTab:
            moveFocus(-1)
        case .down, .tab:
            moveFocus(1)
        case .enter:
            guard form.checked else {
                status = StatusMessage("checking the values...", style: .dim)
                return []
            }
            guard form.isAcceptable else {
                status = StatusMessage("fix the values marked as refused first (Esc leaves the plan as it was)", style: .warning)
                return []
            }
            overlay = nil
            pane = .plan
            paneScroll[.plan] = Scroll()
            let values = form.values
            status = StatusMessage(values.isEmpty ? "planning with the defaults..." : "planning with the values typed...")
            return [.planWithInputs(path: form.path, values: values)]
        case .backspace:
            guard form.focus < form.fields.count, form.fields[form.focus].isTypable, !form.fields[form.focus].value.isEmpty else { break }
            form.fields[form.focus].value.removeLast()
            return edited(form)
        case .character(let c) where isTypable(c):
            guard form.focus < form.fields.count else { break }
            let field = form.fields[form.focus]
            guard field.isTypable else {
                status = StatusMessage(
                    "\(field.declaration.name) is a secret: wpk reads it from \(field.declaration.secretRef ?? "its secret_ref") when the step runs; it takes no value here",
                    style: .warning)
                break
            }
            // One byte over the planner's limit, so the planner's own message says it is too long.
            guard field.value.utf8.count <= InputCheck.maxValueBytes else { break }
            form.fields[form.focus].value.append(c)
            return edited(form)
        default:
            break
        }
        overlay = .inputs(form)
        return []
    }

    /// A value changed: its check is stale until the planner answers for the new values.
    private mutating func edited(_ form: InputForm) -> [Effect] {
        var form = form
        form.checked = false
        status = nil
        overlay = .inputs(form)
        return [.checkInputs(path: form.path, values: form.values)]
    }

    /// The planner's answer for some values; kept only if they are still the values in the form.
    mutating func inputsChecked(path: String, values: [String: String], problems: [String: [String]], general: [String]) {
        guard case .inputs(var form) = overlay, form.path == path, form.values == values else { return }
        for i in form.fields.indices { form.fields[i].problems = problems[form.fields[i].declaration.name] ?? [] }
        form.general = general
        form.checked = true
        overlay = .inputs(form)
    }
}
