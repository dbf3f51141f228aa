/// One place where a document breaks its schema, with both locations and a message for people.
public struct SchemaViolation: Sendable, Equatable, CustomStringConvertible {
    /// Stable code of the keyword family (WPK2xx, see `specs/schema-codes.md`).
    public var code: String
    /// RFC 6901 pointer to the offending instance node ("" for the whole document).
    public var instancePointer: String
    /// Where the failing keyword sits in the schema: `#/pointer` in the root schema document,
    /// the absolute URI with a pointer fragment in any other document.
    public var keywordLocation: String
    /// Position of the offending node (the key itself for an unexpected property).
    public var mark: Mark
    /// What is wrong, naming the place as a person reads it (`spec.handlers[2].timeout`).
    public var message: String

    /// The violation as the project's diagnostic (source `schema`, severity error).
    public var diagnostic: Diagnostic {
        Diagnostic(severity: .error, code: code, source: .schema, message: message, pointer: instancePointer, mark: mark)
    }

    /// `line:column: message [CODE] (keyword location)`, for logs and test failures.
    public var description: String { "\(mark): \(message) [\(code)] (\(keywordLocation))" }
}

/// Which annotations the evaluated keywords produced, kept only where `unevaluated*` needs them.
struct EvaluatedParts {
    var allProperties = false
    /// Indices of mapping entries evaluated.
    var properties: Set<Int> = []
    var allItems = false
    /// Items `0..<prefixItems` evaluated by `prefixItems`.
    var itemPrefix = 0
    /// Items evaluated by `contains` or `unevaluatedItems` elsewhere.
    var items: Set<Int> = []

    mutating func merge(_ other: EvaluatedParts) {
        allProperties = allProperties || other.allProperties
        properties.formUnion(other.properties)
        allItems = allItems || other.allItems
        itemPrefix = max(itemPrefix, other.itemPrefix)
        items.formUnion(other.items)
    }
}

/// One step of an instance path.
enum InstancePathToken {
    case key(String)
    case index(Int)
}

/// Walks a document against a `SchemaProgram`. Short-circuits when only a yes/no is needed;
/// bounded in depth and total work, so a self-referencing schema cannot hang or overflow.
struct SchemaEvaluator {
    /// Deepest nesting of schema evaluations (instance depth is at most 256; references add to it).
    static let maxDepth = 1_000
    /// Schema evaluations allowed for one document: a base plus a share per source byte (every
    /// node takes at least one byte; the base covers what aliases add), far above what a real
    /// schema needs (a playbook costs a few per node), far below a hang.
    static let baseSteps = 1_000_000
    static let stepsPerByte = 100

    let program: SchemaProgram
    var path: [InstancePathToken] = []
    var scope: [Int] = []
    var violations: [SchemaViolation] = []
    var depth = 0
    var steps = 0
    var exhausted = false
    let stack = StackGuard.current()
    let maxSteps: Int

    init(program: SchemaProgram, instance: Node) {
        self.program = program
        maxSteps = SchemaEvaluator.baseSteps + SchemaEvaluator.stepsPerByte * max(0, instance.end.offset - instance.start.offset)
    }

    // MARK: path rendering

    var pointer: String {
        var out = ""
        for token in path {
            switch token {
            case .key(let key): out += "/" + JSONPointer.escape(key)
            case .index(let i): out += "/\(i)"
            }
        }
        return out
    }

    mutating func report(_ code: SchemaCode, _ keyword: CompiledKeyword, _ mark: Mark, _ message: String) {
        violations.append(
            SchemaViolation(
                code: code.rawValue, instancePointer: pointer, keywordLocation: keyword.location,
                mark: mark, message: message))
    }

    var here: String { SchemaMessages.place(path) }

    // MARK: evaluation

    /// Evaluates schema `id` on `instance`; appends violations when `reporting`, and merges the
    /// annotations of a successful evaluation into `parts` when the caller collects them.
    mutating func evaluate(_ id: Int, _ instance: Node, reporting: Bool, parts: inout EvaluatedParts?) -> Bool {
        if let boolean = program.booleans[id] {
            if !boolean && reporting {
                violations.append(
                    SchemaViolation(
                        code: SchemaCode.notAllowed.rawValue, instancePointer: pointer, keywordLocation: program.locations[id],
                        mark: instance.start, message: "\(here) is not allowed here"))
            }
            return boolean
        }
        steps += 1
        if depth >= SchemaEvaluator.maxDepth || steps > maxSteps || stack.isExhausted {
            if !exhausted {
                exhausted = true
                violations.append(
                    SchemaViolation(
                        code: SchemaCode.limit.rawValue, instancePointer: pointer, keywordLocation: program.locations[id],
                        mark: instance.start,
                        message:
                            "validation of \(here) stopped: the schema recurses too deeply or costs too much (limits: \(SchemaEvaluator.maxDepth) levels, \(maxSteps) steps, the thread's stack)"
                    ))
            }
            return false
        }
        depth += 1
        defer { depth -= 1 }
        var pushedScope = false
        if program.usesDynamicScope, scope.last != program.resourceOf[id] {
            scope.append(program.resourceOf[id])
            pushedScope = true
        }
        defer { if pushedScope { scope.removeLast() } }

        var local: EvaluatedParts? = (parts != nil || program.needsAnnotations[id]) ? EvaluatedParts() : nil
        var valid = true
        let keywords = program.keywords[id]
        // By index, so each keyword is borrowed rather than copied (its payload holds arrays and strings).
        for index in keywords.indices {
            if !evaluate(keywords[index], instance, reporting: reporting, parts: &local) {
                valid = false
                if !reporting { return false }
            }
        }
        if valid, let local { parts?.merge(local) }
        return valid
    }

    private mutating func evaluateChild(_ id: Int, _ instance: Node, _ token: InstancePathToken, reporting: Bool) -> Bool {
        path.append(token)
        defer { path.removeLast() }
        var none: EvaluatedParts? = nil
        return evaluate(id, instance, reporting: reporting, parts: &none)
    }

    private mutating func evaluate(_ keyword: CompiledKeyword, _ instance: Node, reporting: Bool, parts: inout EvaluatedParts?) -> Bool {
        switch keyword.keyword {
        case .ref(let target):
            return evaluate(target, instance, reporting: reporting, parts: &parts)
        case .dynamicRef(let target, let anchor):
            var resolved = target
            if let anchor {
                for resource in scope {
                    if let found = program.resources[resource].dynamicAnchors[anchor] {
                        resolved = found
                        break
                    }
                }
            }
            return evaluate(resolved, instance, reporting: reporting, parts: &parts)

        case .allOf(let schemas):
            return evaluateAllOf(schemas, instance, keyword, reporting: reporting, parts: &parts)
        case .anyOf(let schemas):
            return evaluateAnyOf(schemas, instance, keyword, reporting: reporting, parts: &parts)
        case .oneOf(let schemas):
            return evaluateOneOf(schemas, instance, keyword, reporting: reporting, parts: &parts)
        case .not(let schema):
            return evaluateNot(schema, instance, keyword, reporting: reporting, parts: &parts)
        case .conditional(let condition, let then, let otherwise):
            return evaluateConditional(condition, then, otherwise, instance, keyword, reporting: reporting, parts: &parts)
        case .dependentSchemas(let rules):
            return evaluateDependentSchemas(rules, instance, keyword, reporting: reporting, parts: &parts)
        case .items(let prefix, let rest):
            return evaluateItems(prefix, rest, instance, keyword, reporting: reporting, parts: &parts)
        case .contains(let schema, let minimum, let maximum):
            return evaluateContains(schema, minimum, maximum, instance, keyword, reporting: reporting, parts: &parts)
        case .properties(let named, let patterns, let additional):
            return evaluateProperties(named, patterns, additional, instance, keyword, reporting: reporting, parts: &parts)
        case .propertyNames(let schema):
            return evaluatePropertyNames(schema, instance, keyword, reporting: reporting, parts: &parts)
        case .unevaluatedItems(let schema):
            return evaluateUnevaluatedItems(schema, instance, keyword, reporting: reporting, parts: &parts)
        case .unevaluatedProperties(let schema):
            return evaluateUnevaluatedProperties(schema, instance, keyword, reporting: reporting, parts: &parts)
        default:
            return check(keyword, instance, reporting: reporting)
        }
    }

    /// The assertions: keywords that look at the instance itself and never evaluate a subschema,
    /// kept apart so their locals do not weigh on every recursive frame.
    private mutating func check(_ keyword: CompiledKeyword, _ instance: Node, reporting: Bool) -> Bool {
        switch keyword.keyword {
        case .type(let allowed):
            if SchemaMessages.matches(instance, allowed) { return true }
            if reporting {
                report(
                    .type, keyword, instance.start,
                    "\(here) must be \(SchemaMessages.typeNames(allowed)), got \(SchemaMessages.describe(instance))")
            }
            return false
        case .enumeration(let values, let strings, let shown, let scalarsOnly):
            if let text = instance.string {
                // Strings compare by their UTF-8 bytes (JSON equality, not Unicode equivalence).
                if strings.contains(Array(text.utf8)) { return true }
            } else if values.count > strings.count, !scalarsOnly || instance.scalar != nil,
                values.contains(JSONValue(instance).canonicalBytes)
            {
                // (Only when the enum lists a non-string: encoding the instance is the costly part.)
                return true
            }
            if reporting {
                let listed = shown.count == 1 ? shown[0] : "one of " + SchemaMessages.list(shown)
                var message = "\(here) must be \(listed), got \(SchemaMessages.show(instance))"
                if let text = instance.string,
                    let close = SchemaMessages.closest(text, among: strings.map { String(decoding: $0, as: UTF8.self) }.sorted())
                {
                    message += "; did you mean \(SchemaMessages.quote(close))?"
                }
                report(.enumeration, keyword, instance.start, message)
            }
            return false
        case .constant(let value, let string, let shown, let scalarsOnly):
            if let string {
                // A string constant: only a string with the same bytes equals it (JSON equality).
                if let text = instance.string, text.utf8.elementsEqual(string) { return true }
            } else if !scalarsOnly || instance.scalar != nil, JSONValue(instance).canonicalBytes == value {
                return true
            }
            if reporting { report(.enumeration, keyword, instance.start, "\(here) must be \(shown), got \(SchemaMessages.show(instance))") }
            return false

        case .multipleOf(let divisor):
            guard let n = numeric(instance) else { return true }
            let ok: Bool
            switch n {
            case .exact(let value): ok = value.isMultiple(of: divisor)
            case .nonFinite: ok = false
            }
            if !ok, reporting {
                report(.number, keyword, instance.start, "\(here) must be a multiple of \(divisor), got \(SchemaMessages.show(instance))")
            }
            return ok
        case .maximum(let limit):
            return bound(instance, keyword, reporting, "at most \(limit)") {
                Number.compare($0, limit) <= 0
            } nonFinite: {
                $0 <= limit.doubleValue
            }
        case .exclusiveMaximum(let limit):
            return bound(instance, keyword, reporting, "less than \(limit)") {
                Number.compare($0, limit) < 0
            } nonFinite: {
                $0 < limit.doubleValue
            }
        case .minimum(let limit):
            return bound(instance, keyword, reporting, "at least \(limit)") {
                Number.compare($0, limit) >= 0
            } nonFinite: {
                $0 >= limit.doubleValue
            }
        case .exclusiveMinimum(let limit):
            return bound(instance, keyword, reporting, "greater than \(limit)") {
                Number.compare($0, limit) > 0
            } nonFinite: {
                $0 > limit.doubleValue
            }

        case .maxLength(let limit):
            // A string has no more characters than bytes: most pass without counting.
            guard let text = instance.string, text.utf8.count > limit else { return true }
            let length = text.unicodeScalars.count
            if length <= limit { return true }
            if reporting { report(.string, keyword, instance.start, "\(here) must be at most \(limit) characters long, got \(length)") }
            return false
        case .minLength(let limit):
            // A character is at most four bytes: a string that long in bytes passes without counting.
            guard let text = instance.string, text.utf8.count / 4 < limit else { return true }
            let length = text.unicodeScalars.count
            if length >= limit { return true }
            if reporting {
                report(
                    .string, keyword, instance.start,
                    limit == 1 ? "\(here) must not be empty" : "\(here) must be at least \(limit) characters long, got \(length)")
            }
            return false
        case .pattern(let regex):
            guard let text = instance.string else { return true }
            if regex.matches(text) { return true }
            if reporting {
                report(
                    .string, keyword, instance.start, "\(here) must match the pattern \(regex.source), got \(SchemaMessages.show(instance))"
                )
            }
            return false
        case .format(let format, _):
            guard let text = instance.string else { return true }
            if SchemaFormats.check(format, text) { return true }
            if reporting {
                let reason = format == "regex" ? SchemaFormats.regexProblem(text).map { ": " + $0 } ?? "" : ""
                report(.format, keyword, instance.start, "\(here) must be a valid \(format), got \(SchemaMessages.show(instance))\(reason)")
            }
            return false

        case .maxItems(let limit):
            guard let items = instance.sequence, items.count > limit else { return true }
            if reporting {
                report(
                    .array, keyword, instance.start, "\(here) must have at most \(SchemaMessages.count(limit, "item")), got \(items.count)")
            }
            return false
        case .minItems(let limit):
            guard let items = instance.sequence, items.count < limit else { return true }
            if reporting {
                report(
                    .array, keyword, instance.start, "\(here) must have at least \(SchemaMessages.count(limit, "item")), got \(items.count)"
                )
            }
            return false
        case .uniqueItems:
            guard let items = instance.sequence, items.count > 1, let (first, i) = SchemaEvaluator.firstRepeat(in: items) else {
                return true
            }
            if reporting {
                path.append(.index(i))
                report(
                    .array, keyword, items[i].start,
                    "\(here) repeats item \(first) of \(SchemaMessages.place(path.dropLast())); items must be unique")
                path.removeLast()
            }
            return false

        case .maxProperties(let limit):
            guard let entries = instance.mapping, entries.count > limit else { return true }
            if reporting {
                report(
                    .object, keyword, instance.start,
                    "\(here) must have at most \(SchemaMessages.count(limit, "property", "properties")), got \(entries.count)")
            }
            return false
        case .minProperties(let limit):
            guard let entries = instance.mapping, entries.count < limit else { return true }
            if reporting {
                report(
                    .object, keyword, instance.start,
                    "\(here) must have at least \(SchemaMessages.count(limit, "property", "properties")), got \(entries.count)")
            }
            return false
        case .required(let names):
            guard let entries = instance.mapping else { return true }
            var ok = true
            for name in names where Node.index(of: name, in: entries, anyScalar: true) == nil {
                ok = false
                if !reporting { return false }
                report(.required, keyword, instance.start, "\(here) is missing the required property \(SchemaMessages.quote(name))")
            }
            return ok
        case .dependentRequired(let rules):
            guard let entries = instance.mapping else { return true }
            var ok = true
            for rule in rules where Node.index(of: rule.property, in: entries, anyScalar: true) != nil {
                for name in rule.required where Node.index(of: name, in: entries, anyScalar: true) == nil {
                    ok = false
                    if !reporting { return false }
                    report(
                        .required, keyword, instance.start,
                        "\(here) has \(SchemaMessages.quote(rule.property)), so it also needs \(SchemaMessages.quote(name))")
                }
            }
            return ok

        default:
            return true
        }
    }

    private mutating func evaluateAllOf(
        _ schemas: [Int], _ instance: Node, _ keyword: CompiledKeyword, reporting: Bool, parts: inout EvaluatedParts?
    ) -> Bool {
        var ok = true
        for schema in schemas where !evaluate(schema, instance, reporting: reporting, parts: &parts) {
            ok = false
            if !reporting { return false }
        }
        return ok
    }

    private mutating func evaluateAnyOf(
        _ schemas: [Int], _ instance: Node, _ keyword: CompiledKeyword, reporting: Bool, parts: inout EvaluatedParts?
    ) -> Bool {
        var ok = false
        for schema in schemas {
            var branch: EvaluatedParts? = parts == nil ? nil : EvaluatedParts()
            if evaluate(schema, instance, reporting: false, parts: &branch) {
                ok = true
                guard parts != nil, let branch else { break }
                parts?.merge(branch)
            }
        }
        if !ok, reporting { reportClosest(schemas, instance, keyword, "any") }
        return ok
    }

    private mutating func evaluateOneOf(
        _ schemas: [Int], _ instance: Node, _ keyword: CompiledKeyword, reporting: Bool, parts: inout EvaluatedParts?
    ) -> Bool {
        var matched: [Int] = []
        var matchedParts = EvaluatedParts()
        for (i, schema) in schemas.enumerated() {
            var branch: EvaluatedParts? = parts == nil ? nil : EvaluatedParts()
            if evaluate(schema, instance, reporting: false, parts: &branch) {
                matched.append(i)
                if let branch { matchedParts.merge(branch) }
                if matched.count > 1 && !reporting { return false }
            }
        }
        if matched.count == 1 {
            parts?.merge(matchedParts)
            return true
        }
        if reporting {
            if matched.isEmpty {
                reportClosest(schemas, instance, keyword, "one")
            } else {
                report(
                    .composition, keyword, instance.start,
                    "\(here) matches \(matched.count) of the alternatives (\(SchemaMessages.list(matched.map { "#\($0 + 1)" }))) but must match exactly one"
                )
            }
        }
        return false
    }

    private mutating func evaluateNot(
        _ schema: Int, _ instance: Node, _ keyword: CompiledKeyword, reporting: Bool, parts: inout EvaluatedParts?
    ) -> Bool {
        var none: EvaluatedParts? = nil
        if !evaluate(schema, instance, reporting: false, parts: &none) { return true }
        if reporting { report(.composition, keyword, instance.start, "\(here) must not match the schema at \(program.locations[schema])") }
        return false
    }

    private mutating func evaluateConditional(
        _ condition: Int, _ then: Int?, _ otherwise: Int?, _ instance: Node, _ keyword: CompiledKeyword, reporting: Bool,
        parts: inout EvaluatedParts?
    ) -> Bool {
        var conditionParts: EvaluatedParts? = parts == nil ? nil : EvaluatedParts()
        if evaluate(condition, instance, reporting: false, parts: &conditionParts) {
            if let conditionParts { parts?.merge(conditionParts) }
            guard let then else { return true }
            return evaluate(then, instance, reporting: reporting, parts: &parts)
        }
        guard let otherwise else { return true }
        return evaluate(otherwise, instance, reporting: reporting, parts: &parts)
    }

    private mutating func evaluateDependentSchemas(
        _ rules: [(property: String, schema: Int)], _ instance: Node, _ keyword: CompiledKeyword, reporting: Bool,
        parts: inout EvaluatedParts?
    ) -> Bool {
        guard let entries = instance.mapping else { return true }
        var ok = true
        for rule in rules where entries.contains(where: { $0.keyText == rule.property }) {
            if !evaluate(rule.schema, instance, reporting: reporting, parts: &parts) {
                ok = false
                if !reporting { return false }
            }
        }
        return ok
    }

    private mutating func evaluateItems(
        _ prefix: [Int], _ rest: Int?, _ instance: Node, _ keyword: CompiledKeyword, reporting: Bool, parts: inout EvaluatedParts?
    ) -> Bool {
        guard let items = instance.sequence else { return true }
        var ok = true
        for (i, item) in items.enumerated() {
            let schema: Int
            if i < prefix.count { schema = prefix[i] } else if let rest { schema = rest } else { break }
            if !reporting, program.booleans[schema] == true { continue }
            if i >= prefix.count, program.booleans[schema] == false {
                // Extra items forbidden: one message for the list, not one per item.
                if reporting {
                    path.append(.index(i))
                    report(
                        .array, keyword, item.start,
                        "\(here) is one item too many: \(SchemaMessages.place(path.dropLast())) allows at most \(SchemaMessages.count(prefix.count, "item")), got \(items.count)"
                    )
                    path.removeLast()
                }
                return false
            }
            if !evaluateChild(schema, item, .index(i), reporting: reporting) {
                ok = false
                if !reporting { return false }
            }
        }
        if ok, parts != nil {
            let evaluatedPrefix = max(parts?.itemPrefix ?? 0, min(prefix.count, items.count))
            parts?.itemPrefix = evaluatedPrefix
            if rest != nil { parts?.allItems = true }
        }
        return ok
    }

    private mutating func evaluateContains(
        _ schema: Int, _ minimum: Int, _ maximum: Int?, _ instance: Node, _ keyword: CompiledKeyword, reporting: Bool,
        parts: inout EvaluatedParts?
    ) -> Bool {
        guard let items = instance.sequence else { return true }
        var matches = 0
        for (i, item) in items.enumerated() where evaluateChild(schema, item, .index(i), reporting: false) {
            matches += 1
            parts?.items.insert(i)
            if parts == nil, maximum == nil, matches >= minimum { return true }
        }
        if matches < minimum {
            if reporting {
                report(
                    .array, keyword, instance.start,
                    minimum == 1
                        ? "\(here) must contain an item matching \(program.locations[schema])"
                        : "\(here) must contain at least \(minimum) items matching \(program.locations[schema]), got \(matches)")
            }
            return false
        }
        if let maximum, matches > maximum {
            if reporting {
                report(
                    .array, keyword, instance.start,
                    "\(here) must contain at most \(maximum) items matching \(program.locations[schema]), got \(matches)")
            }
            return false
        }
        return true
    }

    private mutating func evaluateProperties(
        _ named: ShortStringMap<Int>, _ patterns: [(regex: SchemaRegex, schema: Int)], _ additional: Int?, _ instance: Node,
        _ keyword: CompiledKeyword, reporting: Bool, parts: inout EvaluatedParts?
    ) -> Bool {
        guard let entries = instance.mapping else { return true }
        var ok = true
        // By index: enumerating copied every entry (both nodes) on the hottest path of validation.
        for index in entries.indices {
            let entry = entries[index]
            let key = entry.keyText
            var matched = false
            if let schema = named[key] {
                matched = true
                if !evaluateChild(schema, entry.value, .key(key), reporting: reporting) {
                    ok = false
                    if !reporting { return false }
                }
            }
            for pattern in patterns where pattern.regex.matches(key) {
                matched = true
                if !evaluateChild(pattern.schema, entry.value, .key(key), reporting: reporting) {
                    ok = false
                    if !reporting { return false }
                }
            }
            if !matched, let additional {
                matched = true
                if program.booleans[additional] == false {
                    ok = false
                    if !reporting { return false }
                    reportUnexpected(entry, keyword, code: .additionalProperties)
                } else if !evaluateChild(additional, entry.value, .key(key), reporting: reporting) {
                    ok = false
                    if !reporting { return false }
                }
            }
            if matched { parts?.properties.insert(index) }
        }
        return ok
    }

    /// The first pair of equal items (JSON equality), as (earlier index, later index), or nil.
    /// Short lists of strings, the usual case, compare bytes pairwise; the rest compare canonical
    /// JSON encodings.
    static func firstRepeat(in items: [Node]) -> (Int, Int)? {
        if items.count <= 32, items.allSatisfy({ $0.string != nil }) {
            for later in items.indices {
                let text = items[later].string!
                for earlier in 0..<later where items[earlier].string!.utf8.elementsEqual(text.utf8) { return (earlier, later) }
            }
            return nil
        }
        var seen: [[UInt8]: Int] = [:]
        for (i, item) in items.enumerated() {
            let key = JSONValue(item).canonicalBytes
            if let first = seen[key] { return (first, i) }
            seen[key] = i
        }
        return nil
    }

    private mutating func evaluatePropertyNames(
        _ schema: Int, _ instance: Node, _ keyword: CompiledKeyword, reporting: Bool, parts: inout EvaluatedParts?
    ) -> Bool {
        guard let entries = instance.mapping else { return true }
        var ok = true
        for entry in entries {
            let name = Node(
                .scalar(Scalar(text: entry.keyText, style: .doubleQuoted, value: .string(entry.keyText))),
                tag: .str, start: entry.key.start, end: entry.key.end)
            let before = violations.count
            if !evaluateChild(schema, name, .key(entry.keyText), reporting: reporting) {
                ok = false
                if !reporting { return false }
                for i in before..<violations.count {
                    violations[i].code = SchemaCode.object.rawValue
                    violations[i].message = "property name: " + violations[i].message
                }
            }
        }
        return ok
    }

    private mutating func evaluateUnevaluatedItems(
        _ schema: Int, _ instance: Node, _ keyword: CompiledKeyword, reporting: Bool, parts: inout EvaluatedParts?
    ) -> Bool {
        guard let items = instance.sequence else { return true }
        let evaluated = parts ?? EvaluatedParts()
        if evaluated.allItems { return true }
        var ok = true
        for i in evaluated.itemPrefix..<max(evaluated.itemPrefix, items.count) where !evaluated.items.contains(i) {
            if program.booleans[schema] == false {
                if reporting {
                    path.append(.index(i))
                    report(.unevaluated, keyword, items[i].start, "\(here) is not allowed: no schema accepts this item")
                    path.removeLast()
                }
                ok = false
            } else if !evaluateChild(schema, items[i], .index(i), reporting: reporting) {
                ok = false
            }
            if !ok && !reporting { return false }
        }
        if ok { parts?.allItems = true }
        return ok
    }

    private mutating func evaluateUnevaluatedProperties(
        _ schema: Int, _ instance: Node, _ keyword: CompiledKeyword, reporting: Bool, parts: inout EvaluatedParts?
    ) -> Bool {
        guard let entries = instance.mapping else { return true }
        let evaluated = parts ?? EvaluatedParts()
        if evaluated.allProperties { return true }
        var ok = true
        for (index, entry) in entries.enumerated() where !evaluated.properties.contains(index) {
            if program.booleans[schema] == false {
                if reporting { reportUnexpected(entry, keyword, code: .unevaluated) }
                ok = false
            } else if !evaluateChild(schema, entry.value, .key(entry.keyText), reporting: reporting) {
                ok = false
            }
            if !ok && !reporting { return false }
        }
        if ok { parts?.allProperties = true }
        return ok
    }

    /// A number instance: exact, or YAML's `.inf`/`.nan`.
    private enum Numeric {
        case exact(Number)
        case nonFinite(Double)
    }

    private func numeric(_ instance: Node) -> Numeric? {
        switch instance.scalar?.value {
        case .number(let n)?: return .exact(n)
        case .nonFinite(let d)?: return .nonFinite(d)
        default: return nil
        }
    }

    /// `requirement` is only built for a report: formatting the limit on every check of every
    /// number cost more than the comparison.
    private mutating func bound(
        _ instance: Node, _ keyword: CompiledKeyword, _ reporting: Bool, _ requirement: @autoclosure () -> String,
        _ exact: (Number) -> Bool, nonFinite: (Double) -> Bool
    ) -> Bool {
        guard let n = numeric(instance) else { return true }
        let ok: Bool
        switch n {
        case .exact(let value): ok = exact(value)
        case .nonFinite(let value): ok = nonFinite(value)
        }
        if !ok, reporting {
            report(.number, keyword, instance.start, "\(here) must be \(requirement()), got \(SchemaMessages.show(instance))")
        }
        return ok
    }

    /// Reports a key no schema allows, at the key itself, suggesting a declared name close in spelling.
    private mutating func reportUnexpected(_ entry: MappingEntry, _ keyword: CompiledKeyword, code: SchemaCode) {
        let owner = here
        path.append(.key(entry.keyText))
        var message = "\(owner) has an unexpected property \(SchemaMessages.quote(entry.keyText))"
        let declared = declaredNames(keyword)
        if let close = SchemaMessages.closest(entry.keyText, among: declared) {
            message += "; did you mean \(SchemaMessages.quote(close))?"
        } else if !declared.isEmpty, declared.count <= 12 {
            message += " (allowed: \(declared.joined(separator: ", ")))"
        }
        report(code, keyword, entry.key.start, message)
        path.removeLast()
    }

    /// The property names declared next to a keyword, for suggestions.
    private func declaredNames(_ keyword: CompiledKeyword) -> [String] {
        if case .properties(let named, _, _) = keyword.keyword {
            return named.keys.sorted()
        }
        // unevaluatedProperties: names declared in the same schema object, found by location.
        let owner = keyword.location.dropLast("/unevaluatedProperties".count)
        return program.locations.firstIndex(of: String(owner)).map { program.declaredProperties[$0].sorted() } ?? []
    }

    /// For a failed `anyOf`/`oneOf`: reports the branch that came closest, or one type message
    /// when every branch wanted a different type.
    private mutating func reportClosest(_ schemas: [Int], _ instance: Node, _ keyword: CompiledKeyword, _ quantity: String) {
        let saved = violations
        var best: [SchemaViolation] = []
        var bestScore = (depth: -1, typeMatched: 0, count: Int.max)
        var wantedTypes: [String] = []
        var allTypeFailures = true
        let myPointer = pointer
        for schema in schemas {
            violations = []
            var none: EvaluatedParts? = nil
            _ = evaluate(schema, instance, reporting: true, parts: &none)
            let branch = violations
            let typeFailure = branch.first { $0.code == SchemaCode.type.rawValue && $0.instancePointer == myPointer }
            if let typeFailure, let range = typeFailure.message.range(of: " must be "), let got = typeFailure.message.range(of: ", got ") {
                wantedTypes.append(String(typeFailure.message[range.upperBound..<got.lowerBound]))
            } else {
                allTypeFailures = false
            }
            // Closest: the branch that got deepest into the document, then one whose type matched,
            // then the one with the fewest complaints.
            let depth = branch.map { $0.instancePointer.split(separator: "/", omittingEmptySubsequences: false).count }.max() ?? 0
            let score = (depth: depth, typeMatched: typeFailure == nil ? 1 : 0, count: branch.count)
            if score.depth > bestScore.depth
                || (score.depth == bestScore.depth && score.typeMatched > bestScore.typeMatched)
                || (score.depth == bestScore.depth && score.typeMatched == bestScore.typeMatched && score.count < bestScore.count)
            {
                best = branch
                bestScore = score
            }
        }
        violations = saved
        if allTypeFailures, !wantedTypes.isEmpty {
            var unique: [String] = []
            for wanted in wantedTypes where !unique.contains(wanted) { unique.append(wanted) }
            report(
                .type, keyword, instance.start,
                "\(here) must be \(unique.joined(separator: " or ")), got \(SchemaMessages.describe(instance))")
        } else if best.isEmpty {
            report(.composition, keyword, instance.start, "\(here) must match \(quantity) of the \(schemas.count) alternatives")
        } else {
            violations.append(contentsOf: best)
        }
    }
}
