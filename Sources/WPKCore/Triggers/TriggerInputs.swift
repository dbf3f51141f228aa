/// What started a run from outside: the data a trigger's `inputs:` templates read.
public enum TriggerEvent: Sendable {
    /// A webhook request's JSON body (`${{ event.body.PATH }}`).
    case webhook(body: JSONValue)
    /// An alert's labels and annotations (`${{ event.labels.NAME }}`, `${{ event.annotations.NAME }}`).
    case alert(labels: [String: String], annotations: [String: String])
}

/// A trigger's `inputs:` mapping: which `${{ event.… }}` references a trigger may use, and the
/// input values they give for one event (which are then checked exactly as `--set` values are).
public enum TriggerInputs {
    /// The most path segments one `event.body.…` reference may have.
    static let maxPathSegments = 32

    /// What is wrong with a reference in an `inputs:` template of a trigger of `kind`, or nil.
    static func problem(_ reference: TemplateReference, kind: String?) -> String? {
        let expected = kind == "webhook" ? "${{ event.body.PATH }}" : "${{ event.labels.NAME }} or ${{ event.annotations.NAME }}"
        if reference.expression.isEmpty {
            return "\"${{\" is not closed by \"}}\" or is empty; write \(expected)"
        }
        guard reference.names.count == 1, reference.names[0] == reference.expression else {
            return "\"${{ \(reference.expression) }}\" is not a plain reference; a trigger input takes \(expected)"
        }
        let parts = reference.expression.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[0] == "event", !parts.contains(where: \.isEmpty) else {
            return "\"\(reference.expression)\" is not an event value; write \(expected)"
        }
        switch (kind, parts[1]) {
        case ("webhook", "body"):
            return parts.count - 2 <= maxPathSegments ? nil : "\"\(reference.expression)\" is deeper than \(maxPathSegments) levels"
        case ("event", "labels"), ("event", "annotations"):
            return parts.count == 3 ? nil : "\"\(reference.expression)\" names a label inside a label; write event.\(parts[1]).NAME"
        default:
            return "\"\(reference.expression)\" is not available to a \(kind ?? "") trigger; write \(expected)"
        }
    }

    /// The input values `trigger`'s `inputs:` gives for `event`, as `--set` would give them, or
    /// a one-line reason (the value a reference names is missing, or is not a scalar).
    public static func values(for trigger: Playbook.Trigger, event: TriggerEvent) -> Result<[String: String], TriggerInputError> {
        var out: [String: String] = [:]
        for (name, template) in trigger.inputs {
            var failure: String?
            let text = Templates.substitute(template.value) { reference in
                guard failure == nil else { return "" }
                switch value(of: reference.expression, in: event) {
                case .success(let value): return value
                case .failure(let problem):
                    failure = "input \"\(name.value)\": \(problem.message)"
                    return ""
                }
            }
            if let failure { return .failure(TriggerInputError(message: failure)) }
            out[name.value] = text
        }
        return .success(out)
    }

    private static func value(of expression: String, in event: TriggerEvent) -> Result<String, TriggerInputError> {
        let parts = expression.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, parts[0] == "event" else {
            return .failure(TriggerInputError(message: "\(expression) is not an event value"))
        }
        switch (event, parts[1]) {
        case (.webhook(let body), "body"):
            var current = body
            for (depth, key) in parts.dropFirst(2).enumerated() {
                let at = "event.body." + parts[2..<(3 + depth)].joined(separator: ".")
                switch current {
                case .object:
                    guard let member = current[key] else { return .failure(TriggerInputError(message: "the body has no \(at)")) }
                    current = member
                case .array(let items):
                    guard let index = Int(key), index >= 0, index < items.count else {
                        return .failure(TriggerInputError(message: "the body has no \(at)"))
                    }
                    current = items[index]
                default:
                    return .failure(TriggerInputError(message: "the body has no \(at)"))
                }
            }
            switch current {
            case .string(let text): return .success(text)
            case .number(let number): return .success(number.description)
            case .bool(let flag): return .success(flag ? "true" : "false")
            case .null: return .failure(TriggerInputError(message: "\(expression) is null"))
            case .array, .object: return .failure(TriggerInputError(message: "\(expression) is not a string, number or boolean"))
            }
        case (.alert(let labels, _), "labels"):
            return labels[parts[2]].map { .success($0) } ?? .failure(TriggerInputError(message: "the alert has no label \(parts[2])"))
        case (.alert(_, let annotations), "annotations"):
            return annotations[parts[2]].map { .success($0) }
                ?? .failure(TriggerInputError(message: "the alert has no annotation \(parts[2])"))
        default:
            return .failure(TriggerInputError(message: "\(expression) is not available for this event"))
        }
    }
}

/// Why a trigger's inputs could not be taken from an event (one line, for a 400 answer).
public struct TriggerInputError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
