/// The runtimes a step can run in; each names the program that carries out its actions.
public enum Runtime: String, Sendable, CaseIterable, Hashable {
    /// `kubectl`, always with an explicit `--context` and `--namespace`.
    case k8s
    /// The `docker` CLI.
    case docker
    /// Local programs (`sh`, `curl`, `vault`) run without a shell unless the action is `script`.
    case shell
}

/// How faithfully a dry run shows what an action will do.
public enum Fidelity: String, Sendable, Hashable {
    /// Read-only: the dry run runs it as is.
    case exact
    /// Mutating with a server-side or declared dry-run variant that the dry run uses instead.
    case simulated
    /// Mutating with no dry-run variant (or an arbitrary script): its effect is only known when it runs.
    case opaque
}

/// A parameter value after template substitution, ready to become argv elements.
public enum ParamValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case boolean(Bool)
    case list([String])
    /// Rendered in key order, so the argv (and the plan digest) does not depend on YAML key order.
    case map([String: String])
}

/// What a target names, which decides how it is checked and how permissions are derived.
public enum TargetKind: Sendable, Hashable {
    /// `kind/name` or `kind` (e.g. `deployment/checkout`, `pods`).
    case k8sResource
    /// A container name or id.
    case container
    /// An image reference (`registry/repo:tag@sha256:…`).
    case image
    /// An http(s) URL.
    case url
    /// A Vault path (`kv/payments/db`, `database/rotate-role/payments`).
    case vaultPath
    /// The action takes no target.
    case none
}

/// The value type a parameter takes (what the rules check in `params`).
public enum ParamType: String, Sendable, Hashable {
    case string, integer, boolean, list, map
}

/// How one parameter becomes argv elements.
public enum ParamRendering: Sendable, Hashable {
    /// `--flag=value`.
    case option(String)
    /// `--flag` when the value is true, nothing when false.
    case flag(String)
    /// `flag value` as two elements; for a list `flag item` per item, for a map `flag key=value`
    /// per entry (curl, for one, takes no `--flag=value`).
    case repeated(String)
    /// The value (or each list item, or each `key=value`) as its own element, in place.
    case positional
    /// Not rendered as a flag: the argv template places it itself (`.param(name)`).
    case placed
}

/// One parameter an action accepts.
public struct ActionParam: Sendable, Hashable {
    public var name: String
    public var type: ParamType
    public var required: Bool
    public var rendering: ParamRendering
    /// One line for `--help`-like listings and rule messages.
    public var summary: String

    /// A parameter with its name, type, whether it is required, rendering and summary.
    public init(_ name: String, _ type: ParamType, required: Bool = false, _ rendering: ParamRendering, _ summary: String) {
        self.name = name
        self.type = type
        self.required = required
        self.rendering = rendering
        self.summary = summary
    }
}

/// One element of an argv template.
public enum ArgvPart: Sendable, Hashable {
    case literal(String)
    /// `--context=<runtime.k8s.context>`, `--namespace=<runtime.k8s.namespace>`.
    case k8sScope
    /// `--host=<runtime.docker.host>` when one is set.
    case dockerHost
    /// The shell interpreter (`runtime.shell.interpreter`, default `/bin/sh`).
    case interpreter
    /// The target as written (after substitution).
    case target
    /// The name part of a `kind/name` target.
    case targetName
    /// The target behind a fixed prefix in one element (`name=<target>` for `docker ps --filter`).
    case prefixedTarget(String)
    /// Every parameter rendered by its `ParamRendering`, in the order the action declares them
    /// (`.placed` ones excepted).
    case params
    /// One `.placed` parameter's value(s) here.
    case param(String)
    /// `--dry-run=server` (or the action's own dry-run flag) only when planning a dry run.
    case dryRun(String)
    /// A script's `$0` name and the values of its references (`"${1}"`…), appended by the planner
    /// so that no value is ever part of the script text.
    case scriptArguments
}

/// What a permission of an action is, given its target.
public enum PermissionTemplate: Sendable, Hashable {
    /// A fixed permission such as `pods/log:get` or `docker:restart`.
    case fixed(String)
    /// `<resource>:<verb>` where resource is the plural of the target's kind (`deployments:patch`).
    case resource(verb: String)
    /// `<resource>/<subresource>:<verb>` (`deployments/scale:patch`).
    case subresource(String, verb: String)
    /// `<resource>:get` for a named target, `<resource>:list` for a kind alone.
    case getOrList
    /// `pods:list` when the target is a workload (kubectl finds its pods), nothing for a pod.
    case podsOfWorkload
}

/// The facts about one runtime action that the rules, the planner and the review UI all read.
public struct ActionSpec: Sendable, Hashable {
    public var runtime: Runtime
    public var name: String
    public var summary: String
    public var target: TargetKind
    /// Whether a target must be given.
    public var targetRequired: Bool
    public var params: [ActionParam]
    /// The argv template; `ActionSpec.argv` renders it.
    public var argv: [ArgvPart]
    /// Changes state somewhere (anything but a read).
    public var mutating: Bool
    /// Removes something or cuts capacity in a way that re-running the playbook does not restore
    /// (deleting a pod, draining a node, an arbitrary command). Auto mode needs an explicit
    /// allowance for these.
    public var destructive: Bool
    public var permissions: [PermissionTemplate]
    public var fidelity: Fidelity
    /// The flag of the dry-run variant, when one exists (placed by `.dryRun` in the template).
    public var dryRunFlag: String?
    /// Whether a k8s target may be a kind alone (`pods`), not one object.
    public var acceptsKindOnly: Bool = false

    /// The parameter named `name`.
    public func param(_ name: String) -> ActionParam? { params.first { $0.name == name } }
}

/// Runtime settings the argv templates need (from `spec.runtime`).
public struct RuntimeScope: Sendable, Hashable {
    public var k8sContext: String?
    public var k8sNamespace: String?
    public var dockerHost: String?
    public var shellInterpreter: String?

    /// The scope from the runtime requirements (nil where a runtime is not used).
    public init(k8sContext: String? = nil, k8sNamespace: String? = nil, dockerHost: String? = nil, shellInterpreter: String? = nil) {
        self.k8sContext = k8sContext
        self.k8sNamespace = k8sNamespace
        self.dockerHost = dockerHost
        self.shellInterpreter = shellInterpreter
    }
}

extension ActionSpec {
    /// The exact argv this action runs for a target and parameters (already substituted); with
    /// `dryRun`, the dry-run variant (callers check `fidelity` first: opaque actions have none);
    /// `scriptArguments` are a script's `$0` and positional values.
    public func argv(
        target: String?, params values: [String: ParamValue], scope: RuntimeScope, dryRun: Bool = false, scriptArguments: [String] = []
    ) -> [String] {
        var out: [String] = []
        for part in argv {
            switch part {
            case .literal(let text): out.append(text)
            case .k8sScope:
                out.append("--context=\(scope.k8sContext ?? "")")
                out.append("--namespace=\(scope.k8sNamespace ?? "")")
            case .dockerHost:
                if let host = scope.dockerHost { out.append("--host=\(host)") }
            case .interpreter: out.append(scope.shellInterpreter ?? "/bin/sh")
            case .target: if let target { out.append(target) }
            case .targetName: if let target { out.append(K8sTarget(target).name ?? target) }
            case .prefixedTarget(let prefix): if let target { out.append(prefix + target) }
            case .dryRun(let flag): if dryRun { out.append(flag) }
            case .scriptArguments: out.append(contentsOf: scriptArguments)
            case .param(let name):
                if let value = values[name] { out.append(contentsOf: Self.elements(value)) }
            case .params:
                for param in params {
                    guard let value = values[param.name] else { continue }
                    out.append(contentsOf: Self.render(value, param.rendering))
                }
            }
        }
        return out
    }

    private static func elements(_ value: ParamValue) -> [String] {
        switch value {
        case .string(let s): [s]
        case .integer(let i): [String(i)]
        case .boolean(let b): [b ? "true" : "false"]
        case .list(let items): items
        case .map(let map): map.keys.sorted().map { "\($0)=\(map[$0]!)" }
        }
    }

    private static func render(_ value: ParamValue, _ rendering: ParamRendering) -> [String] {
        switch rendering {
        case .placed: return []
        case .positional: return elements(value)
        case .flag(let flag):
            if case .boolean(true) = value { return [flag] }
            return []
        case .option(let flag): return elements(value).map { "\(flag)=\($0)" }
        case .repeated(let flag): return elements(value).flatMap { [flag, $0] }
        }
    }

    /// The permissions this action needs on `target` (e.g. `deployments:patch`); those derived
    /// from the target's kind are left out while there is no target.
    public func requiredPermissions(target: String?) -> [String] {
        requiredPermissions(parsedTarget: target.map(K8sTarget.init))
    }

    /// `requiredPermissions(target:)` for a target already split.
    func requiredPermissions(parsedTarget parsed: K8sTarget?) -> [String] {
        permissions.compactMap { template in
            switch template {
            case .fixed(let permission): permission
            case .resource(let verb): parsed.map { "\($0.resource):\(verb)" }
            case .subresource(let sub, let verb): parsed.map { "\($0.resource)/\(sub):\(verb)" }
            case .getOrList: parsed.map { "\($0.resource):\($0.name != nil ? "get" : "list")" }
            case .podsOfWorkload: parsed.flatMap { $0.resource == "pods" ? nil : "pods:list" }
            }
        }
    }
}

/// A Kubernetes target `kind/name` or `kind`, with the plural resource that RBAC names.
public struct K8sTarget: Sendable, Hashable {
    public var kind: String
    public var name: String?

    /// Splits at the first `/`; the kind is lowercased as kubectl accepts it.
    public init(_ text: String) {
        // On bytes: `/` is ASCII, and kinds are almost always lowercase already.
        let utf8 = text.utf8
        let slash = utf8.firstIndex(of: UInt8(ascii: "/"))
        let kindBytes = utf8[..<(slash ?? utf8.endIndex)]
        let kindText = String(Substring(kindBytes))
        kind =
            kindBytes.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") || $0 >= 0x80 })
            ? kindText.lowercased() : kindText
        if let slash {
            let rest = String(Substring(utf8[utf8.index(after: slash)...]))
            name = rest.isEmpty ? nil : rest
        } else {
            name = nil
        }
    }

    /// Short names and singulars kubectl accepts, mapped to the plural RBAC resource.
    static let plurals: [String: String] = [
        "po": "pods", "pod": "pods", "pods": "pods",
        "deploy": "deployments", "deployment": "deployments", "deployments": "deployments",
        "sts": "statefulsets", "statefulset": "statefulsets", "statefulsets": "statefulsets",
        "ds": "daemonsets", "daemonset": "daemonsets", "daemonsets": "daemonsets",
        "rs": "replicasets", "replicaset": "replicasets", "replicasets": "replicasets",
        "job": "jobs", "jobs": "jobs",
        "cj": "cronjobs", "cronjob": "cronjobs", "cronjobs": "cronjobs",
        "no": "nodes", "node": "nodes", "nodes": "nodes",
        "svc": "services", "service": "services", "services": "services",
        "cm": "configmaps", "configmap": "configmaps", "configmaps": "configmaps",
        "secret": "secrets", "secrets": "secrets",
        "hpa": "horizontalpodautoscalers", "horizontalpodautoscaler": "horizontalpodautoscalers",
        "horizontalpodautoscalers": "horizontalpodautoscalers",
        "pvc": "persistentvolumeclaims", "persistentvolumeclaim": "persistentvolumeclaims",
        "persistentvolumeclaims": "persistentvolumeclaims",
        "ing": "ingresses", "ingress": "ingresses", "ingresses": "ingresses",
        "es": "externalsecrets", "externalsecret": "externalsecrets", "externalsecrets": "externalsecrets",
        "pdb": "poddisruptionbudgets", "poddisruptionbudget": "poddisruptionbudgets",
        "poddisruptionbudgets": "poddisruptionbudgets",
    ]

    /// The plural resource RBAC uses; an unknown kind is taken as already plural (CRDs).
    public var resource: String { Self.plurals[kind] ?? kind }
}

/// THE catalogue of runtime actions: one table that the rules, the planner and the UI read.
public enum ActionCatalogue {
    /// The action `name` of `runtime`, or nil when there is none.
    public static func action(_ runtime: Runtime, _ name: String) -> ActionSpec? {
        index[runtime]?[name]
    }

    /// The action names of one runtime, sorted (for "did you mean" messages and help).
    public static func names(_ runtime: Runtime) -> [String] {
        (index[runtime]?.keys).map { $0.sorted() } ?? []
    }

    private static let index: [Runtime: [String: ActionSpec]] = {
        var out: [Runtime: [String: ActionSpec]] = [:]
        for spec in all { out[spec.runtime, default: [:]][spec.name] = spec }
        return out
    }()

    private static let kubectl: [ArgvPart] = [.literal("kubectl"), .k8sScope]
    private static let serverDryRun = "--dry-run=server"

    /// Every action, in the order help lists them.
    public static let all: [ActionSpec] = [
        // Kubernetes: reads.
        ActionSpec(
            runtime: .k8s, name: "get", summary: "Show objects as YAML", target: .k8sResource, targetRequired: true,
            params: [ActionParam("selector", .string, .option("--selector"), "label selector, e.g. app=checkout")],
            argv: kubectl + [.literal("get"), .target, .params, .literal("--output=yaml")],
            mutating: false, destructive: false, permissions: [.getOrList], fidelity: .exact, acceptsKindOnly: true),
        ActionSpec(
            runtime: .k8s, name: "describe", summary: "Describe objects with their recent events", target: .k8sResource,
            targetRequired: true,
            params: [ActionParam("selector", .string, .option("--selector"), "label selector")],
            argv: kubectl + [.literal("describe"), .target, .params],
            mutating: false, destructive: false, permissions: [.getOrList, .fixed("events:list")], fidelity: .exact, acceptsKindOnly: true),
        ActionSpec(
            runtime: .k8s, name: "logs", summary: "Print container logs", target: .k8sResource, targetRequired: true,
            params: [
                ActionParam("container", .string, .option("--container"), "one container"),
                ActionParam("all_containers", .boolean, .flag("--all-containers"), "every container of the pod"),
                ActionParam("previous", .boolean, .flag("--previous"), "the previous (crashed) instance"),
                ActionParam("tail", .integer, .option("--tail"), "last N lines"),
                ActionParam("since", .string, .option("--since"), "only newer than a duration, e.g. 1h"),
            ],
            argv: kubectl + [.literal("logs"), .target, .params, .literal("--timestamps")],
            mutating: false, destructive: false, permissions: [.getOrList, .podsOfWorkload, .fixed("pods/log:get")], fidelity: .exact),
        ActionSpec(
            runtime: .k8s, name: "events", summary: "List events about an object", target: .k8sResource, targetRequired: true,
            params: [ActionParam("types", .string, .option("--types"), "Normal, Warning or both")],
            argv: kubectl + [.literal("events"), .literal("--for"), .target, .params],
            mutating: false, destructive: false, permissions: [.fixed("events:list")], fidelity: .exact),
        ActionSpec(
            runtime: .k8s, name: "rollout-status", summary: "Wait until a rollout completes", target: .k8sResource, targetRequired: true,
            params: [ActionParam("timeout", .string, .option("--timeout"), "give up after, e.g. 5m")],
            argv: kubectl + [.literal("rollout"), .literal("status"), .target, .params],
            mutating: false, destructive: false, permissions: [.resource(verb: "get")], fidelity: .exact),
        ActionSpec(
            runtime: .k8s, name: "wait", summary: "Wait for a condition on an object", target: .k8sResource, targetRequired: true,
            params: [
                ActionParam("condition", .string, required: true, .option("--for"), "e.g. condition=complete"),
                ActionParam("timeout", .string, .option("--timeout"), "give up after, e.g. 10m"),
            ],
            argv: kubectl + [.literal("wait"), .target, .params],
            mutating: false, destructive: false, permissions: [.resource(verb: "get")], fidelity: .exact),
        // Kubernetes: changes with a server-side dry run.
        ActionSpec(
            runtime: .k8s, name: "rollout-restart", summary: "Restart every pod of a workload, one surge at a time", target: .k8sResource,
            targetRequired: true,
            params: [],
            argv: kubectl + [.literal("rollout"), .literal("restart"), .target, .dryRun(serverDryRun)],
            mutating: true, destructive: false, permissions: [.resource(verb: "patch")], fidelity: .simulated, dryRunFlag: serverDryRun),
        ActionSpec(
            runtime: .k8s, name: "rollout-undo", summary: "Roll a workload back to a previous revision", target: .k8sResource,
            targetRequired: true,
            params: [ActionParam("to_revision", .integer, .option("--to-revision"), "revision number; default the previous one")],
            argv: kubectl + [.literal("rollout"), .literal("undo"), .target, .params, .dryRun(serverDryRun)],
            mutating: true, destructive: false, permissions: [.resource(verb: "patch")], fidelity: .simulated, dryRunFlag: serverDryRun),
        ActionSpec(
            runtime: .k8s, name: "scale", summary: "Set a workload's replica count", target: .k8sResource, targetRequired: true,
            params: [ActionParam("replicas", .integer, required: true, .option("--replicas"), "the new replica count")],
            argv: kubectl + [.literal("scale"), .target, .params, .dryRun(serverDryRun)],
            mutating: true, destructive: false, permissions: [.subresource("scale", verb: "patch")], fidelity: .simulated,
            dryRunFlag: serverDryRun),
        ActionSpec(
            runtime: .k8s, name: "annotate", summary: "Set annotations on an object (overwriting)", target: .k8sResource,
            targetRequired: true,
            params: [ActionParam("annotations", .map, required: true, .positional, "key: value pairs")],
            argv: kubectl + [.literal("annotate"), .target, .params, .literal("--overwrite"), .dryRun(serverDryRun)],
            mutating: true, destructive: false, permissions: [.resource(verb: "patch")], fidelity: .simulated, dryRunFlag: serverDryRun),
        ActionSpec(
            runtime: .k8s, name: "create-job-from", summary: "Create a Job from a CronJob's template", target: .k8sResource,
            targetRequired: true,
            params: [ActionParam("job_name", .string, required: true, .placed, "name of the new Job")],
            argv: kubectl + [.literal("create"), .literal("job"), .param("job_name"), .literal("--from"), .target, .dryRun(serverDryRun)],
            mutating: true, destructive: false, permissions: [.resource(verb: "get"), .fixed("jobs:create")], fidelity: .simulated,
            dryRunFlag: serverDryRun),
        ActionSpec(
            runtime: .k8s, name: "apply-manifest", summary: "Apply a manifest file (server-side apply)", target: .k8sResource,
            targetRequired: true,
            params: [ActionParam("file", .string, required: true, .option("--filename"), "path of the manifest")],
            argv: kubectl + [.literal("apply"), .literal("--server-side"), .params, .dryRun(serverDryRun)],
            mutating: true, destructive: false, permissions: [.resource(verb: "patch"), .resource(verb: "create")], fidelity: .simulated,
            dryRunFlag: serverDryRun),
        ActionSpec(
            runtime: .k8s, name: "cordon", summary: "Mark a node unschedulable", target: .k8sResource, targetRequired: true,
            params: [],
            argv: kubectl + [.literal("cordon"), .targetName, .dryRun(serverDryRun)],
            mutating: true, destructive: false, permissions: [.fixed("nodes:patch")], fidelity: .simulated, dryRunFlag: serverDryRun),
        ActionSpec(
            runtime: .k8s, name: "uncordon", summary: "Mark a node schedulable again", target: .k8sResource, targetRequired: true,
            params: [],
            argv: kubectl + [.literal("uncordon"), .targetName, .dryRun(serverDryRun)],
            mutating: true, destructive: false, permissions: [.fixed("nodes:patch")], fidelity: .simulated, dryRunFlag: serverDryRun),
        // Kubernetes: destructive.
        ActionSpec(
            runtime: .k8s, name: "delete-pod", summary: "Delete a pod (its controller recreates it)", target: .k8sResource,
            targetRequired: true,
            params: [ActionParam("grace_period", .integer, .option("--grace-period"), "seconds to shut down")],
            argv: kubectl + [.literal("delete"), .target, .params, .literal("--wait=true"), .dryRun(serverDryRun)],
            mutating: true, destructive: true, permissions: [.fixed("pods:delete")], fidelity: .simulated, dryRunFlag: serverDryRun),
        ActionSpec(
            runtime: .k8s, name: "drain", summary: "Evict every pod from a node", target: .k8sResource, targetRequired: true,
            params: [
                ActionParam("timeout", .string, .option("--timeout"), "give up after, e.g. 5m"),
                ActionParam("delete_emptydir_data", .boolean, .flag("--delete-emptydir-data"), "allow losing emptyDir volumes"),
            ],
            argv: kubectl + [.literal("drain"), .targetName, .literal("--ignore-daemonsets"), .params, .dryRun(serverDryRun)],
            mutating: true, destructive: true, permissions: [.fixed("nodes:patch"), .fixed("pods/eviction:create")], fidelity: .simulated,
            dryRunFlag: serverDryRun),
        ActionSpec(
            runtime: .k8s, name: "exec", summary: "Run a command inside a container", target: .k8sResource, targetRequired: true,
            params: [
                ActionParam("container", .string, .option("--container"), "one container"),
                ActionParam("command", .list, required: true, .placed, "the argv to run"),
            ],
            argv: kubectl + [.literal("exec"), .target, .params, .literal("--"), .param("command")],
            mutating: true, destructive: true, permissions: [.fixed("pods/exec:create")], fidelity: .opaque),
        // Docker.
        ActionSpec(
            runtime: .docker, name: "ps", summary: "List containers matching a name", target: .container, targetRequired: true,
            params: [],
            argv: [
                .literal("docker"), .dockerHost, .literal("ps"), .literal("--all"), .literal("--no-trunc"), .literal("--filter"),
                .prefixedTarget("name="),
            ],
            mutating: false, destructive: false, permissions: [.fixed("docker:read")], fidelity: .exact),
        ActionSpec(
            runtime: .docker, name: "inspect", summary: "Show a container's configuration and state", target: .container,
            targetRequired: true,
            params: [],
            argv: [.literal("docker"), .dockerHost, .literal("inspect"), .target],
            mutating: false, destructive: false, permissions: [.fixed("docker:read")], fidelity: .exact),
        ActionSpec(
            runtime: .docker, name: "logs", summary: "Print a container's logs", target: .container, targetRequired: true,
            params: [
                ActionParam("tail", .integer, .option("--tail"), "last N lines"),
                ActionParam("since", .string, .option("--since"), "only newer than, e.g. 1h"),
            ],
            argv: [.literal("docker"), .dockerHost, .literal("logs"), .literal("--timestamps"), .params, .target],
            mutating: false, destructive: false, permissions: [.fixed("docker:read")], fidelity: .exact),
        ActionSpec(
            runtime: .docker, name: "restart", summary: "Restart a container", target: .container, targetRequired: true,
            params: [ActionParam("stop_timeout", .integer, .option("--time"), "seconds to wait for a clean stop")],
            argv: [.literal("docker"), .dockerHost, .literal("restart"), .params, .target],
            mutating: true, destructive: false, permissions: [.fixed("docker:restart")], fidelity: .opaque),
        ActionSpec(
            runtime: .docker, name: "pull", summary: "Pull an image", target: .image, targetRequired: true,
            params: [],
            argv: [.literal("docker"), .dockerHost, .literal("pull"), .literal("--quiet"), .target],
            mutating: true, destructive: false, permissions: [.fixed("docker:pull")], fidelity: .opaque),
        ActionSpec(
            runtime: .docker, name: "run", summary: "Run a one-off container (removed on exit)", target: .image, targetRequired: true,
            params: [
                ActionParam("network", .string, .option("--network"), "network, e.g. none"),
                ActionParam("read_only", .boolean, .flag("--read-only"), "read-only root filesystem"),
                ActionParam("user", .string, .option("--user"), "uid:gid to run as"),
                ActionParam("env", .map, .repeated("--env"), "environment variables"),
                ActionParam("volumes", .list, .repeated("--volume"), "host:container[:ro] mounts"),
                ActionParam("tmpfs", .list, .repeated("--tmpfs"), "tmpfs mounts"),
                ActionParam("args", .list, .placed, "arguments after the image"),
            ],
            argv: [.literal("docker"), .dockerHost, .literal("run"), .literal("--rm"), .params, .target, .param("args")],
            mutating: true, destructive: false, permissions: [.fixed("docker:run")], fidelity: .opaque),
        // Shell: local programs.
        ActionSpec(
            runtime: .shell, name: "script", summary: "Run a script with the runtime's interpreter", target: .none, targetRequired: false,
            params: [ActionParam("script", .string, required: true, .placed, "the script text")],
            argv: [.interpreter, .literal("-c"), .param("script"), .scriptArguments],
            mutating: true, destructive: true, permissions: [.fixed("shell:exec")], fidelity: .opaque),
        ActionSpec(
            runtime: .shell, name: "http-check", summary: "GET a URL and fail on an HTTP error status", target: .url, targetRequired: true,
            params: [ActionParam("max_time", .integer, .repeated("--max-time"), "seconds before giving up")],
            argv: [
                .literal("curl"), .literal("--fail"), .literal("--silent"), .literal("--show-error"), .literal("--output"),
                .literal("/dev/null"),
                .literal("--write-out"), .literal("%{http_code} %{time_total}s\\n"), .params, .target,
            ],
            mutating: false, destructive: false, permissions: [.fixed("http:get")], fidelity: .exact),
        ActionSpec(
            runtime: .shell, name: "prometheus-query", summary: "Evaluate a PromQL query (instant) against a Prometheus URL", target: .url,
            targetRequired: true,
            params: [ActionParam("query", .string, required: true, .placed, "the PromQL expression")],
            argv: [.literal("promtool"), .literal("query"), .literal("instant"), .literal("--format=json"), .target, .param("query")],
            mutating: false, destructive: false, permissions: [.fixed("http:get")], fidelity: .exact),
        ActionSpec(
            runtime: .shell, name: "vault-read",
            summary: "Read a Vault metadata endpoint (e.g. database/static-roles/NAME: last rotation, TTL)", target: .vaultPath,
            targetRequired: true,
            params: [],
            argv: [.literal("vault"), .literal("read"), .literal("-format=json"), .target],
            mutating: false, destructive: false, permissions: [.fixed("vault:read")], fidelity: .exact),
        ActionSpec(
            runtime: .shell, name: "vault-kv-metadata", summary: "Show a KV v2 secret's versions and timestamps, never its value",
            target: .vaultPath, targetRequired: true,
            params: [ActionParam("mount", .string, required: true, .option("-mount"), "the KV mount, e.g. kv")],
            argv: [.literal("vault"), .literal("kv"), .literal("metadata"), .literal("get"), .literal("-format=json"), .params, .target],
            mutating: false, destructive: false, permissions: [.fixed("vault:read")], fidelity: .exact),
        ActionSpec(
            runtime: .shell, name: "vault-write", summary: "Write to a Vault path (e.g. rotate a database role)", target: .vaultPath,
            targetRequired: true,
            params: [
                ActionParam("force", .boolean, .flag("-force"), "write with no data (rotation endpoints)"),
                ActionParam("data", .map, .placed, "key=value pairs to write"),
            ],
            argv: [.literal("vault"), .literal("write"), .literal("-format=json"), .params, .target, .param("data")],
            mutating: true, destructive: false, permissions: [.fixed("vault:write")], fidelity: .opaque),
    ]
}

extension ActionSpec {
    /// The argv-ready values of a step's params: each text passes through `substitute` (the
    /// planner replaces `${{ }}` references there), then takes the type the action declares
    /// (`"3"` becomes `.integer(3)` for an integer param). Params the action does not take, and
    /// values that do not fit after substitution, are left out (rule WPK319 reports them).
    public func paramValues(_ params: [(name: Located<String>, value: Node)], substitute: (String) -> String = { $0 }) -> [String:
        ParamValue]
    {
        var out: [String: ParamValue] = [:]
        for (name, node) in params {
            guard let param = param(name.value) else { continue }
            switch param.type {
            case .string:
                if let text = node.scalar?.text { out[param.name] = .string(substitute(text)) }
            case .integer:
                if let text = node.scalar?.text, let value = Int(substitute(text)) { out[param.name] = .integer(value) }
            case .boolean:
                switch node.scalar.map({ substitute($0.text) }) {
                case "true"?: out[param.name] = .boolean(true)
                case "false"?: out[param.name] = .boolean(false)
                default: break
                }
            case .list:
                if let items = node.sequence { out[param.name] = .list(items.compactMap { $0.scalar.map { substitute($0.text) } }) }
            case .map:
                if let entries = node.mapping {
                    var map: [String: String] = [:]
                    for entry in entries { if let text = entry.value.scalar?.text { map[entry.keyText] = substitute(text) } }
                    out[param.name] = .map(map)
                }
            }
        }
        return out
    }
}
