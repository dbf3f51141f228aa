import Foundation

/// Where a secret input's value is read at run time: `env:NAME`, `vault:PATH#KEY` or `file:/path`.
public struct SecretReference: Sendable, Hashable {
    /// `env`, `vault` or `file`.
    public var store: String
    /// The variable name, the Vault path or the file path.
    public var path: String
    /// The key inside a Vault secret; nil for the other stores.
    public var key: String?
    /// The reference exactly as the playbook wrote it.
    public var written: String

    /// Parses a `secret_ref`; nil when it is not one of the three forms.
    public init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let store = String(text[..<colon])
        let rest = String(text[text.index(after: colon)...])
        guard !rest.isEmpty, !text.contains("<"), !text.contains(">") else { return nil }
        switch store {
        case "env", "file":
            self.path = rest
            self.key = nil
        case "vault":
            guard let hash = rest.firstIndex(of: "#") else { return nil }
            self.path = String(rest[..<hash])
            self.key = String(rest[rest.index(after: hash)...])
        default:
            return nil
        }
        self.store = store
        self.written = text
    }

    /// The argv text that stands for the value until the executor reads it: `<secret:vault:kv/x#key>`.
    public var placeholder: String { "<secret:\(written)>" }

    /// `{"store", "path", "key"}` (key only for Vault).
    public var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [("store", .string(store)), ("path", .string(path))]
        if let key { members.append(("key", .string(key))) }
        return .object(members)
    }
}

/// An input's value once resolved: a typed value, a secret reference, or nothing.
public enum ResolvedValue: Sendable, Equatable {
    case string(String)
    case integer(Number)
    case number(Number)
    case boolean(Bool)
    /// Read at run time; the plan never holds the value.
    case secret(SecretReference)
    /// An optional input given no value and with no default.
    case absent

    /// The text a reference to this input becomes (placeholders for secrets; nil when absent).
    public var substitutionText: String? {
        switch self {
        case .string(let s): s
        case .integer(let n), .number(let n): n.description
        case .boolean(let b): b ? "true" : "false"
        case .secret(let ref): ref.placeholder
        case .absent: nil
        }
    }

    /// The value as plan JSON (a secret as its reference, never a value).
    public var json: JSONValue {
        switch self {
        case .string(let s): .string(s)
        case .integer(let n), .number(let n): .number(n)
        case .boolean(let b): .bool(b)
        case .secret(let ref): .object([("secret", ref.json)])
        case .absent: .null
        }
    }
}

/// One declared input with the value the plan uses and where that value came from.
public struct ResolvedInput: Sendable, Equatable {
    /// Where a value came from.
    public enum Source: String, Sendable {
        /// `--set` or `--values`.
        case given
        /// `default` in the playbook.
        case `default`
        /// A secret: its reference.
        case secretRef = "secret_ref"
        /// Nothing (an optional input).
        case none
    }

    public var name: String
    public var value: ResolvedValue
    public var source: Source

    /// `{"name", "value", "source"}` as the plan shows it.
    public var json: JSONValue {
        .object([("name", .string(name)), ("value", value.json), ("source", .string(source.rawValue))])
    }
}

/// A value, or the diagnostic saying why there is none.
enum Checked<Value> {
    case value(Value)
    case problem(Diagnostic)
}

/// Resolves the declared inputs of a playbook from given values and defaults, type-checking each.
enum InputResolver {
    /// The longest value one input may have: an argument, not a file.
    static let maxValueBytes = 4096

    /// Every declared input in declaration order, and the problems found (values never appear in
    /// messages for secret inputs; other values are shown shortened and only as values).
    static func resolve(_ playbook: Playbook, given: [String: String]) -> (inputs: [ResolvedInput], diagnostics: [Diagnostic]) {
        var diagnostics: [Diagnostic] = []
        let declared = Set(playbook.inputs.map(\.name.value))
        for name in given.keys.sorted() where !declared.contains(name) {
            let list = declared.isEmpty ? "it declares none" : "declared: " + declared.sorted().joined(separator: ", ")
            diagnostics.append(
                PlanCode.undeclaredInput.diagnostic(
                    "a value was given for \"\(short(name))\", which is not an input of this playbook (\(list))", mark: nil))
        }
        var out: [ResolvedInput] = []
        var seen: Set<String> = []
        for input in playbook.inputs where seen.insert(input.name.value).inserted {
            let name = input.name.value
            let at = input.name
            if input.secret {
                if given[name] != nil {
                    diagnostics.append(
                        PlanCode.secretGiven.diagnostic(
                            "input \"\(name)\" is a secret: wpk reads it from \(input.secretRef?.value ?? "its secret_ref") when the step runs and never takes it on the command line; remove its value",
                            pointer: at.pointer, mark: at.mark))
                }
                if let written = input.secretRef?.value, let ref = SecretReference(written) {
                    out.append(ResolvedInput(name: name, value: .secret(ref), source: .secretRef))
                } else {
                    diagnostics.append(
                        PlanCode.unplannable.diagnostic(
                            "secret input \"\(name)\" has no usable secret_ref (env:NAME, vault:PATH#KEY or file:/path)",
                            pointer: at.pointer, mark: at.mark))
                    out.append(ResolvedInput(name: name, value: .absent, source: .none))
                }
                continue
            }
            if let text = given[name] {
                switch typed(text, input) {
                case .value(let value): out.append(ResolvedInput(name: name, value: value, source: .given))
                case .problem(let diagnostic):
                    diagnostics.append(diagnostic)
                    out.append(ResolvedInput(name: name, value: .absent, source: .none))
                }
            } else if let node = input.defaultValue, let scalar = node.scalar {
                switch typed(scalar.text, input, fromDefault: true) {
                case .value(let value): out.append(ResolvedInput(name: name, value: value, source: .default))
                case .problem(let diagnostic):
                    diagnostics.append(diagnostic)
                    out.append(ResolvedInput(name: name, value: .absent, source: .none))
                }
            } else {
                if input.required {
                    diagnostics.append(
                        PlanCode.missingInput.diagnostic(
                            "input \"\(name)\" is required and has no default; give it with --set \(name)=VALUE", pointer: at.pointer,
                            mark: at.mark))
                }
                out.append(ResolvedInput(name: name, value: .absent, source: .none))
            }
        }
        return (out, diagnostics)
    }

    /// The typed value of `text` for `input`, or the diagnostic explaining why it does not fit.
    private static func typed(_ text: String, _ input: Playbook.Input, fromDefault: Bool = false) -> Checked<ResolvedValue> {
        let name = input.name.value
        let pointer = fromDefault ? input.pointer + "/default" : input.name.pointer
        let mark = fromDefault ? (input.defaultValue?.start ?? input.name.mark) : input.name.mark
        func fail(_ code: PlanCode, _ message: String) -> Checked<ResolvedValue> {
            .problem(code.diagnostic(message, pointer: pointer, mark: mark))
        }
        guard text.utf8.count <= maxValueBytes else {
            return fail(.inputTooLong, "the value of input \"\(name)\" is \(text.utf8.count) bytes long; the limit is \(maxValueBytes)")
        }
        let value: ResolvedValue
        switch input.type ?? "string" {
        case "integer", "number":
            guard case .number(let number)? = CoreSchema.resolvePlain(text.trimmingSpaces)?.value,
                input.type != "integer" || number.isInteger
            else {
                return fail(
                    .inputType,
                    "the value \(quoted(text)) of input \"\(name)\" is not a\(input.type == "integer" ? "n" : "") \(input.type ?? "number")"
                )
            }
            if let minimum = input.minimum, number < minimum {
                return fail(.inputRange, "the value \(number) of input \"\(name)\" is below its minimum \(minimum)")
            }
            if let maximum = input.maximum, maximum < number {
                return fail(.inputRange, "the value \(number) of input \"\(name)\" is above its maximum \(maximum)")
            }
            value = input.type == "integer" ? .integer(number) : .number(number)
        case "boolean":
            switch text {
            case "true": value = .boolean(true)
            case "false": value = .boolean(false)
            default: return fail(.inputType, "the value \(quoted(text)) of input \"\(name)\" is not a boolean (true or false)")
            }
        default:
            if let pattern = input.pattern, !matchesEntirely(text, pattern: pattern) {
                return fail(.inputPattern, "the value \(quoted(text)) of input \"\(name)\" does not match its pattern \(pattern)")
            }
            value = .string(text)
        }
        return .value(value)
    }

    /// Whether `text` matches the ECMA-262 `pattern` as a whole (the schema's `format: regex`
    /// already refused patterns that do not compile; one that still fails matches nothing).
    static func matchesEntirely(_ text: String, pattern: String) -> Bool {
        guard let translated = ECMARegex.translate(pattern),
            let regex = try? NSRegularExpression(pattern: "\\A(?:" + translated + ")\\z")
        else { return false }
        let ns = text as NSString
        return regex.firstMatch(in: text, options: [], range: NSRange(location: 0, length: ns.length)) != nil
    }

    /// A value for a message: quoted, escaped and shortened.
    static func quoted(_ text: String) -> String {
        "\"" + DisplaySanitizer.sanitize(short(text)) + "\""
    }

    private static func short(_ text: String) -> String {
        text.count > 60 ? String(text.prefix(60)) + "…" : text
    }
}
