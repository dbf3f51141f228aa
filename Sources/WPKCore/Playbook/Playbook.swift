/// A value read from the document with where it came from, so a diagnostic can point at it.
public struct Located<Value: Sendable>: Sendable {
    public var value: Value
    /// Position of the node.
    public var mark: Mark
    private var place: PointerPlace

    /// A value found at `pointer`, whose node starts at `mark`.
    public init(_ value: Value, pointer: String, mark: Mark) {
        self.init(value, place: PointerPlace(base: pointer), mark: mark)
    }

    init(_ value: Value, place: PointerPlace, mark: Mark) {
        self.value = value
        self.place = place
        self.mark = mark
    }

    /// RFC 6901 pointer of the node.
    public var pointer: String { place.pointer }

    /// The same place with `transform`'s value, or nil when it gives none.
    func map<T>(_ transform: (Value) -> T?) -> Located<T>? {
        transform(value).map { Located<T>($0, place: place, mark: mark) }
    }
}

extension Located: Equatable where Value: Equatable {
    public static func == (lhs: Located, rhs: Located) -> Bool {
        lhs.value == rhs.value && lhs.mark == rhs.mark && lhs.pointer == rhs.pointer
    }
}

/// Where a located value sits: a pointer and up to two more tokens. The model locates hundreds of
/// values per playbook and reports few, so the pointer string is joined only when asked for.
struct PointerPlace: Sendable {
    var base: String
    var first: Step?
    var second: Step?

    enum Step: Sendable {
        case key(String)
        case index(Int)
    }

    init(base: String, _ first: Step? = nil, _ second: Step? = nil) {
        self.base = base
        self.first = first
        self.second = second
    }

    var pointer: String {
        var out = base
        for step in [first, second] {
            switch step {
            case .key(let key)?: out = JSONPointer.appending(out, key)
            case .index(let index)?: out = JSONPointer.appending(out, String(index))
            case nil: break
            }
        }
        return out
    }
}

/// A workflow package read from a loaded tree.
///
/// Reading never fails: a missing or mistyped field is simply absent (the schema reports it),
/// so the rules and the planner can work on half-broken files without crashing.
public struct Playbook: Sendable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: Metadata
    public var runtime: RuntimeSpec
    public var safety: Safety
    public var inputs: [Input]
    public var triggers: [Trigger]
    public var handlers: [Handler]
    public var rollback: [Handler]
    public var validation: Validation
    public var monitoring: Monitoring

    /// `metadata`.
    public struct Metadata: Sendable {
        public var name: Located<String>?
        public var version: Located<String>?
        public var author: Located<String>?
        public var description: String?
        public var labels: [String: String]
        /// `metadata.signature.ref`: where the detached signature lives.
        public var signatureRef: Located<String>?
    }

    /// `spec.runtime`: the default runtime of steps and each runtime's requirements.
    public struct RuntimeSpec: Sendable {
        public var type: Located<Runtime>?
        public var k8s: K8s?
        public var docker: Docker?
        public var shell: Shell?

        /// `spec.runtime.k8s`.
        public struct K8s: Sendable {
            public var context: Located<String>?
            public var namespace: Located<String>?
            public var minVersion: String?
            public var pointer: String
            public var mark: Mark
        }

        /// `spec.runtime.docker`.
        public struct Docker: Sendable {
            public var host: String?
            public var allowedRegistries: [String]
            public var requireDigest: Bool
            public var pointer: String
            public var mark: Mark
        }

        /// `spec.runtime.shell`.
        public struct Shell: Sendable {
            public var interpreter: String?
            public var workingDirectory: String?
            /// Environment variables; values may be `${{ inputs.… }}` references.
            public var environment: [(name: String, value: Located<String>)]
            public var pointer: String
            public var mark: Mark
        }

        /// The argv scope of these requirements.
        public var scope: RuntimeScope {
            RuntimeScope(
                k8sContext: k8s?.context?.value, k8sNamespace: k8s?.namespace?.value,
                dockerHost: docker?.host, shellInterpreter: shell?.interpreter)
        }

        /// Whether the requirements section for `runtime` is present.
        public func hasRequirements(for runtime: Runtime) -> Bool {
            switch runtime {
            case .k8s: k8s != nil
            case .docker: docker != nil
            case .shell: shell != nil
            }
        }
    }

    /// Execution modes: manual gates steps on approvals; auto runs them.
    public enum Mode: String, Sendable { case manual, auto }

    /// `spec.safety`.
    public struct Safety: Sendable {
        /// Absent means manual, the safe default.
        public var mode: Located<Mode>?
        public var approvalsRequired: Int
        public var allowSelfApproval: Bool
        /// `approval_timeout` in seconds.
        public var approvalTimeoutSeconds: Int?
        public var dryRunFirst: Bool
        /// `allow_destructive_in_auto`, with its position when written.
        public var allowDestructiveInAuto: Located<Bool>?

        /// The effective mode.
        public var effectiveMode: Mode { mode?.value ?? .manual }
    }

    /// One declared input parameter.
    public struct Input: Sendable {
        public var name: Located<String>
        public var type: String?
        public var description: String?
        public var defaultValue: Node?
        public var required: Bool
        public var pattern: String?
        /// Bounds of a numeric input.
        public var minimum: Number?
        public var maximum: Number?
        /// A secret input is a reference (`secret_ref`), never a value.
        public var secret: Bool
        /// `env:NAME`, `vault:PATH#KEY` or `file:PATH`.
        public var secretRef: Located<String>?
        public var pointer: String
        public var mark: Mark
    }

    /// One trigger; `kind` decides which fields apply.
    public struct Trigger: Sendable {
        public var kind: Located<String>?
        /// webhook
        public var path: String?
        /// webhook: the secret input holding the HMAC key.
        public var secretInput: String?
        /// schedule
        public var cron: Located<String>?
        public var timezone: Located<String>?
        /// event
        public var source: String?
        public var filter: [String: String]
        /// webhook and event: input name -> `${{ event.… }}` template, in document order.
        public var inputs: [(name: Located<String>, template: Located<String>)]
        public var pointer: String
        public var mark: Mark
    }

    /// `retry`.
    public struct Retry: Sendable {
        public var maxAttempts: Located<Int>?
        public var backoff: String
        public var initialDelaySeconds: Int?
        public var maxDelaySeconds: Int?
        public var pointer: String
        public var mark: Mark

        /// The waits between attempts, in seconds: fixed repeats the initial delay, exponential
        /// doubles it up to the maximum. One element fewer than the attempts.
        public var delaysSeconds: [Int] {
            let attempts = min(max(maxAttempts?.value ?? 1, 1), 1000)
            let initial = max(initialDelaySeconds ?? 1, 0)
            let cap = maxDelaySeconds ?? Int.max
            var delays: [Int] = []
            var delay = initial
            for _ in 1..<attempts {
                delays.append(min(delay, cap))
                if backoff == "exponential" { delay = delay > Int.max / 2 ? Int.max : delay * 2 }
            }
            return delays
        }
    }

    /// A step: a handler of `spec.handlers` or of `spec.rollback`.
    ///
    /// A class: the rules and the planner pass steps around constantly, and copying a step
    /// value counted references to each of its many strings every time; a step never changes
    /// once read.
    public final class Handler: Sendable {
        public let name: Located<String>?
        public let description: String?
        /// The step's runtime: its own `runtime`, else `spec.runtime.type`.
        public let runtime: Located<Runtime>?
        public let action: Located<String>?
        public let target: Located<String>?
        /// `params` as written (values may hold `${{ }}` references).
        public let params: [(name: Located<String>, value: Node)]
        public let paramsMark: Mark?
        public let requiresApproval: Bool?
        public let timeoutSeconds: Located<Int>?
        public let retry: Retry?
        public let idempotent: Bool?
        /// `abort` (the default), `continue` or `rollback`.
        public let onFailure: String
        /// `on_failure` as written, for diagnostics.
        public let onFailureWritten: Located<String>?
        public let dependsOn: [Located<String>]
        public let when: Located<String>?
        /// Rollback steps only: the handler whose effect this step undoes.
        public let undoes: Located<String>?
        public let pointer: String
        public let mark: Mark
        /// The catalogue entry of this step's action, if it names a known one (looked up once).
        public let actionSpec: ActionSpec?

        init(
            name: Located<String>?, description: String?, runtime: Located<Runtime>?, action: Located<String>?,
            target: Located<String>?, params: [(name: Located<String>, value: Node)], paramsMark: Mark?,
            requiresApproval: Bool?, timeoutSeconds: Located<Int>?, retry: Retry?, idempotent: Bool?,
            onFailure: String, onFailureWritten: Located<String>?, dependsOn: [Located<String>],
            when: Located<String>?, undoes: Located<String>?, pointer: String, mark: Mark
        ) {
            self.name = name
            self.description = description
            self.runtime = runtime
            self.action = action
            self.target = target
            self.params = params
            self.paramsMark = paramsMark
            self.requiresApproval = requiresApproval
            self.timeoutSeconds = timeoutSeconds
            self.retry = retry
            self.idempotent = idempotent
            self.onFailure = onFailure
            self.onFailureWritten = onFailureWritten
            self.dependsOn = dependsOn
            self.when = when
            self.undoes = undoes
            self.pointer = pointer
            self.mark = mark
            if let runtime = runtime?.value, let action = action?.value {
                actionSpec = ActionCatalogue.action(runtime, action)
            } else {
                actionSpec = nil
            }
        }
    }

    /// `spec.validation`.
    public struct Validation: Sendable {
        public var permissions: [Located<String>]
        public var permissionsMark: Mark?
        public var limits: Limits
    }

    /// `spec.validation.limits`.
    public struct Limits: Sendable {
        public var maxRuntimeSeconds: Located<Int>?
        public var maxStepTimeoutSeconds: Located<Int>?
        public var maxRetryAttempts: Located<Int>?
        public var maxTargets: Located<Int>?
        public var maxConcurrency: Located<Int>?
    }

    /// `spec.monitoring`.
    public struct Monitoring: Sendable {
        public var metrics: [(name: String, query: String?)]
        public var alerts: [(name: String, metric: String?, threshold: Number?)]
        public var notify: [(type: String, target: String)]
    }
}

// MARK: - Reading

extension Playbook {
    /// Reads the model from a document root; never fails.
    public init(root: Node) {
        let r = Reader()
        apiVersion = root["apiVersion"]?.string
        kind = root["kind"]?.string

        let meta = root["metadata"]
        metadata = Metadata(
            name: r.string(meta, "name", "/metadata"),
            version: r.text(meta, "version", "/metadata"),
            author: r.string(meta, "author", "/metadata"),
            description: meta?["description"]?.string,
            labels: r.stringMap(meta?["labels"]),
            signatureRef: r.string(meta?["signature"], "ref", "/metadata/signature"))

        let spec = root["spec"]
        let rt = spec?["runtime"]
        let k8s = rt?["k8s"].flatMap { n -> RuntimeSpec.K8s? in
            guard n.mapping != nil else { return nil }
            return RuntimeSpec.K8s(
                context: r.string(n, "context", "/spec/runtime/k8s"), namespace: r.string(n, "namespace", "/spec/runtime/k8s"),
                minVersion: n["min_version"].flatMap { $0.scalar?.text }, pointer: "/spec/runtime/k8s", mark: n.start)
        }
        let docker = rt?["docker"].flatMap { n -> RuntimeSpec.Docker? in
            guard n.mapping != nil else { return nil }
            let policy = n["image_policy"]
            return RuntimeSpec.Docker(
                host: n["host"]?.string, allowedRegistries: r.strings(policy?["allowed_registries"]),
                requireDigest: policy?["require_digest"].flatMap(r.bool) ?? false, pointer: "/spec/runtime/docker", mark: n.start)
        }
        let shell = rt?["shell"].flatMap { n -> RuntimeSpec.Shell? in
            guard n.mapping != nil else { return nil }
            var env: [(name: String, value: Located<String>)] = []
            for entry in n["environment"]?.mapping ?? [] {
                guard let value = entry.value.scalar?.text else { continue }
                env.append(
                    (
                        entry.keyText,
                        Located(
                            value, place: PointerPlace(base: "/spec/runtime/shell/environment", .key(entry.keyText)),
                            mark: entry.value.start)
                    ))
            }
            return RuntimeSpec.Shell(
                interpreter: n["interpreter"]?.string, workingDirectory: n["working_directory"]?.string,
                environment: env, pointer: "/spec/runtime/shell", mark: n.start)
        }
        let runtimeType = r.string(rt, "type", "/spec/runtime")?.map(Runtime.init(rawValue:))
        runtime = RuntimeSpec(type: runtimeType, k8s: k8s, docker: docker, shell: shell)

        let s = spec?["safety"]
        safety = Safety(
            mode: r.string(s, "mode", "/spec/safety")?.map(Mode.init(rawValue:)),
            approvalsRequired: s?["approvals_required"].flatMap(r.int) ?? 1,
            allowSelfApproval: s?["allow_self_approval"].flatMap(r.bool) ?? false,
            approvalTimeoutSeconds: s?["approval_timeout"].flatMap { Durations.seconds($0.scalar?.text ?? "") },
            dryRunFirst: s?["dry_run_first"].flatMap(r.bool) ?? true,
            allowDestructiveInAuto: s.flatMap { node in
                node.entry("allow_destructive_in_auto").flatMap { e in
                    r.bool(e.value).map { Located($0, pointer: "/spec/safety/allow_destructive_in_auto", mark: e.value.start) }
                }
            })

        inputs = r.items(spec?["inputs"], "/spec/inputs").compactMap { node, pointer in
            guard let name = r.string(node, "name", pointer) else { return nil }
            return Input(
                name: name, type: node["type"]?.string, description: node["description"]?.string, defaultValue: node["default"],
                required: node["required"].flatMap(r.bool) ?? false, pattern: node["pattern"]?.string,
                minimum: r.number(node["minimum"]), maximum: r.number(node["maximum"]),
                secret: node["secret"].flatMap(r.bool) ?? false, secretRef: r.string(node, "secret_ref", pointer),
                pointer: pointer, mark: node.start)
        }

        triggers = r.items(spec?["triggers"], "/spec/triggers").map { node, pointer in
            Trigger(
                kind: r.string(node, "kind", pointer), path: node["path"]?.string, secretInput: node["secret_input"]?.string,
                cron: r.string(node, "cron", pointer),
                timezone: r.string(node, "timezone", pointer), source: node["source"]?.string,
                filter: r.stringMap(node["filter"]), inputs: r.templateMap(node["inputs"], JSONPointer.appending(pointer, "inputs")),
                pointer: pointer, mark: node.start)
        }

        let defaultRuntime = runtimeType
        handlers = r.items(spec?["handlers"], "/spec/handlers").map { r.handler($0, $1, defaultRuntime: defaultRuntime) }
        rollback = r.items(spec?["rollback"], "/spec/rollback").map { r.handler($0, $1, defaultRuntime: defaultRuntime) }

        let v = spec?["validation"]
        let l = v?["limits"]
        validation = Validation(
            permissions: (v?["permissions"]?.sequence ?? []).enumerated().compactMap { index, item in
                item.string.map { Located($0, place: PointerPlace(base: "/spec/validation/permissions", .index(index)), mark: item.start) }
            },
            permissionsMark: v?["permissions"]?.start,
            limits: Limits(
                maxRuntimeSeconds: r.duration(l, "max_runtime", "/spec/validation/limits"),
                maxStepTimeoutSeconds: r.duration(l, "max_step_timeout", "/spec/validation/limits"),
                maxRetryAttempts: r.located(l, "max_retry_attempts", "/spec/validation/limits", r.int),
                maxTargets: r.located(l, "max_targets", "/spec/validation/limits", r.int),
                maxConcurrency: r.located(l, "max_concurrency", "/spec/validation/limits", r.int)))

        let m = spec?["monitoring"]
        monitoring = Monitoring(
            metrics: (m?["metrics"]?.sequence ?? []).compactMap { n in n["name"]?.string.map { ($0, n["query"]?.string) } },
            alerts: (m?["alerts"]?.sequence ?? []).compactMap { n in
                n["name"]?.string.map { name in
                    var threshold: Number?
                    if case .number(let number)? = n["threshold"]?.scalar?.value { threshold = number }
                    return (name, n["metric"]?.string, threshold)
                }
            },
            notify: (m?["notify"]?.sequence ?? []).compactMap { n in
                guard let type = n["type"]?.string, let target = n["target"]?.string else { return nil }
                return (type, target)
            })
    }

    /// Every step, handlers then rollback steps, with whether it is a rollback step.
    public var allSteps: [(step: Handler, isRollback: Bool)] {
        handlers.map { ($0, false) } + rollback.map { ($0, true) }
    }
}

/// Reads optional, possibly mistyped fields without failing.
private struct Reader {
    func string(_ node: Node?, _ key: String, _ base: String) -> Located<String>? {
        guard let value = node?[key], let text = value.string else { return nil }
        return Located(text, place: PointerPlace(base: base, .key(key)), mark: value.start)
    }

    /// Any scalar's text (a version such as `1.2` may resolve to a number).
    func text(_ node: Node?, _ key: String, _ base: String) -> Located<String>? {
        guard let value = node?[key], let scalar = value.scalar else { return nil }
        return Located(scalar.text, place: PointerPlace(base: base, .key(key)), mark: value.start)
    }

    func bool(_ node: Node) -> Bool? {
        if case .bool(let b)? = node.scalar?.value { return b }
        return nil
    }

    func number(_ node: Node?) -> Number? {
        if case .number(let n)? = node?.scalar?.value { return n }
        return nil
    }

    func int(_ node: Node) -> Int? {
        if case .number(let n)? = node.scalar?.value { return n.intValue }
        return nil
    }

    func located<T: Sendable>(_ node: Node?, _ key: String, _ base: String, _ read: (Node) -> T?) -> Located<T>? {
        guard let value = node?[key], let v = read(value) else { return nil }
        return Located(v, place: PointerPlace(base: base, .key(key)), mark: value.start)
    }

    func duration(_ node: Node?, _ key: String, _ base: String) -> Located<Int>? {
        located(node, key, base) { n in n.scalar.flatMap { Durations.seconds($0.text) } }
    }

    func strings(_ node: Node?) -> [String] {
        (node?.sequence ?? []).compactMap(\.string)
    }

    func stringMap(_ node: Node?) -> [String: String] {
        var out: [String: String] = [:]
        for entry in node?.mapping ?? [] {
            if let value = entry.value.scalar?.text { out[entry.keyText] = value }
        }
        return out
    }

    /// The string entries of a mapping with their positions (key and value), in document order.
    func templateMap(_ node: Node?, _ base: String) -> [(name: Located<String>, template: Located<String>)] {
        (node?.mapping ?? []).compactMap { entry in
            guard let text = entry.value.string else { return nil }
            let pointer = JSONPointer.appending(base, entry.keyText)
            return (
                Located(entry.keyText, pointer: pointer, mark: entry.key.start), Located(text, pointer: pointer, mark: entry.value.start)
            )
        }
    }

    /// The items of a sequence with their pointers; anything else gives none.
    func items(_ node: Node?, _ base: String) -> [(Node, String)] {
        (node?.sequence ?? []).enumerated().map { ($1, JSONPointer.appending(base, String($0))) }
    }

    func handler(_ node: Node, _ pointer: String, defaultRuntime: Located<Runtime>?) -> Playbook.Handler {
        let ownRuntime = string(node, "runtime", pointer)?.map(Runtime.init(rawValue:))
        var params: [(name: Located<String>, value: Node)] = []
        let paramsNode = node["params"]
        for entry in paramsNode?.mapping ?? [] {
            params.append(
                (
                    Located(entry.keyText, place: PointerPlace(base: pointer, .key("params"), .key(entry.keyText)), mark: entry.key.start),
                    entry.value
                ))
        }
        let retry = node["retry"].flatMap { r -> Playbook.Retry? in
            guard r.mapping != nil else { return nil }
            let rp = pointer + "/retry"
            return Playbook.Retry(
                maxAttempts: located(r, "max_attempts", rp, int), backoff: r["backoff"]?.string ?? "fixed",
                initialDelaySeconds: r["initial_delay"].flatMap { Durations.seconds($0.scalar?.text ?? "") },
                maxDelaySeconds: r["max_delay"].flatMap { Durations.seconds($0.scalar?.text ?? "") },
                pointer: rp, mark: r.start)
        }
        return Playbook.Handler(
            name: string(node, "name", pointer), description: node["description"]?.string,
            runtime: ownRuntime ?? defaultRuntime, action: string(node, "action", pointer), target: string(node, "target", pointer),
            params: params, paramsMark: paramsNode?.start,
            requiresApproval: node["requires_approval"].flatMap(bool),
            timeoutSeconds: duration(node, "timeout", pointer), retry: retry, idempotent: node["idempotent"].flatMap(bool),
            onFailure: node["on_failure"]?.string ?? "abort", onFailureWritten: string(node, "on_failure", pointer),
            dependsOn: (node["depends_on"]?.sequence ?? []).enumerated().compactMap { index, item in
                item.string.map { Located($0, place: PointerPlace(base: pointer, .key("depends_on"), .index(index)), mark: item.start) }
            },
            when: string(node, "when", pointer), undoes: string(node, "undoes", pointer), pointer: pointer, mark: node.start)
    }
}

/// Durations as playbooks write them: `90s`, `5m`, `1h30m`, `2h`.
public enum Durations {
    /// Seconds in a duration string, or nil when it is not one. Bounded: at most a year.
    public static func seconds(_ text: String) -> Int? {
        var total = 0
        var number = 0
        var digits = 0
        var sawUnit = false
        for byte in text.utf8 {
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                guard digits < 9 else { return nil }
                number = number * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
                continue
            }
            guard digits > 0 else { return nil }
            switch byte {
            case UInt8(ascii: "h"): total += number * 3600
            case UInt8(ascii: "m"): total += number * 60
            case UInt8(ascii: "s"): total += number
            default: return nil
            }
            number = 0
            digits = 0
            sawUnit = true
        }
        guard sawUnit, digits == 0, total <= 366 * 24 * 3600 else { return nil }
        return total
    }
}

extension Playbook.Handler {
    /// The timeout of a step that states none (the schema's default, 5m).
    public static let defaultTimeoutSeconds = 300

    /// The step's timeout in seconds, the default when absent.
    public var effectiveTimeoutSeconds: Int { timeoutSeconds?.value ?? Self.defaultTimeoutSeconds }

    /// Attempts in all (1 without retry), bounded so hostile values cannot overflow sums.
    public var attempts: Int { min(max(retry?.maxAttempts?.value ?? 1, 1), 1000) }

    /// The waits between attempts (see `Retry.delaysSeconds`); none without retry.
    public var retryDelaysSeconds: [Int] { retry?.delaysSeconds ?? [] }

    /// The longest the step can take: every attempt to its timeout plus the waits between them
    /// (approval waits excluded). The planner's `worst_case_seconds` is the sum of these.
    public var worstCaseSeconds: Int {
        attempts * effectiveTimeoutSeconds + retryDelaysSeconds.reduce(0) { $0 + min($1, 366 * 24 * 3600) }
    }
}

extension Playbook {
    /// Whether `step` waits for approvals: its own `requires_approval` when written; otherwise, in
    /// manual mode, every mutating step (and any step whose action is unknown), and in auto mode none.
    public func requiresApproval(_ step: Handler) -> Bool {
        if let explicit = step.requiresApproval { return explicit }
        guard safety.effectiveMode == .manual else { return false }
        return step.actionSpec?.mutating ?? true
    }
}

extension Playbook {
    /// The order handlers run in: dependencies first, document order among steps that are free
    /// to go; nil when `depends_on` has a cycle (WPK304). Unknown dependencies are ignored
    /// (WPK302 reports them). O((V + E) log V), no recursion.
    public func executionOrder() -> [Int]? {
        var index: [String: Int] = [:]
        for (i, handler) in handlers.enumerated() {
            if let name = handler.name?.value, index[name] == nil { index[name] = i }
        }
        var dependents = Array(repeating: [Int](), count: handlers.count)
        var waitingFor = Array(repeating: 0, count: handlers.count)
        for (i, handler) in handlers.enumerated() {
            var seen: Set<Int> = []
            for dependency in handler.dependsOn {
                guard let j = index[dependency.value], seen.insert(j).inserted else { continue }
                dependents[j].append(i)
                waitingFor[i] += 1
            }
        }
        var ready = MinHeap()
        for i in handlers.indices where waitingFor[i] == 0 { ready.push(i) }
        var order: [Int] = []
        order.reserveCapacity(handlers.count)
        while let i = ready.pop() {
            order.append(i)
            for d in dependents[i] {
                waitingFor[d] -= 1
                if waitingFor[d] == 0 { ready.push(d) }
            }
        }
        return order.count == handlers.count ? order : nil
    }
}

/// A binary min-heap of step indices (document order among ready steps).
private struct MinHeap {
    private var items: [Int] = []

    mutating func push(_ value: Int) {
        items.append(value)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Int? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < items.count && items[left] < items[smallest] { smallest = left }
                if right < items.count && items[right] < items[smallest] { smallest = right }
                if smallest == parent { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first
    }
}
