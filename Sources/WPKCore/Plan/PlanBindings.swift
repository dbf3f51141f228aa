import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where a run finds its programs and files: what plan bindings are computed in. The run, `wpk
/// plan`, `approve` and `review` each compute them in their own process environment, so an
/// approval binds the tools and files the approver's planning saw, and a run binds its own.
public struct BindingEnvironment: Sendable, Equatable {
    /// The process environment (`PATH`, `KUBECONFIG` and `HOME` are read).
    public var variables: [String: String]
    /// Programs named in configuration (`kubectl` -> the path in `WPK_KUBECTL`), used as the run uses them.
    public var programs: [String: String]
    /// Where relative file paths are read (kubectl runs in wpk's working directory).
    public var workingDirectory: String
    /// The `--values` file the inputs came from, when one was given.
    public var valuesFile: String?

    /// An environment from its parts.
    public init(variables: [String: String], programs: [String: String], workingDirectory: String, valuesFile: String? = nil) {
        self.variables = variables
        self.programs = programs
        self.workingDirectory = workingDirectory
        self.valuesFile = valuesFile
    }

    /// The variables that name a program the run executes instead of looking it up on `PATH`.
    public static let programVariables: [(program: String, variable: String)] = [
        ("kubectl", "WPK_KUBECTL"), ("docker", "WPK_DOCKER"), ("vault", "WPK_VAULT"),
    ]

    /// The programs an environment names (a non-empty `WPK_KUBECTL` names kubectl, and so on).
    public static func programs(from environment: [String: String]) -> [String: String] {
        var out: [String: String] = [:]
        for (program, variable) in programVariables {
            if let named = environment[variable], !named.isEmpty { out[program] = named }
        }
        return out
    }

    /// This process's environment and working directory.
    public static func current(valuesFile: String? = nil) -> BindingEnvironment {
        let variables = ProcessInfo.processInfo.environment
        return BindingEnvironment(
            variables: variables, programs: programs(from: variables),
            workingDirectory: FileManager.default.currentDirectoryPath, valuesFile: valuesFile)
    }
}

/// Everything outside the playbook that decides what a plan's steps do: the program each command
/// starts (its resolved path and the SHA-256 of its bytes), the local files steps read (manifests,
/// the values file) and the kubeconfig files kubectl reads. The plan digest covers them, so an
/// approval is for these exact tools and files; a run computes them again before every step and
/// stops as stale when one changed.
public struct PlanBindings: Sendable, Equatable {
    /// What a binding is.
    public enum Kind: String, Sendable, Equatable {
        /// A program a command starts (argv[0], `WPK_KUBECTL`…, or the shell interpreter).
        case tool
        /// A local file a step reads, as the playbook or the command line names it.
        case file
        /// A kubeconfig file kubectl reads (`KUBECONFIG`, else `~/.kube/config`).
        case kubeconfig
    }

    /// One tool or file and what it was when bound.
    public struct Binding: Sendable, Equatable {
        public var kind: Kind
        /// The program name as commands give it, or the path as written.
        public var name: String
        /// The absolute path read; nil when a program is not found.
        public var path: String?
        /// `sha256:<hex>` of its bytes; nil when it is missing or cannot be read.
        public var digest: String?
        /// Why there is no digest, for people.
        public var problem: String?

        /// What the plan digest covers: a file's content (wherever it was read from, so an
        /// approver in another directory approves the same bytes); a tool's or kubeconfig's path too.
        var executableJSON: JSONValue {
            var members: [(key: String, value: JSONValue)] = [("kind", .string(kind.rawValue)), ("name", .string(name))]
            if kind != .file { members.append(("path", .optional(path))) }
            members.append(("sha256", .optional(digest)))
            return .object(members)
        }

        /// As the plan JSON shows it.
        public var json: JSONValue {
            var members: [(key: String, value: JSONValue)] = [
                ("kind", .string(kind.rawValue)), ("name", .string(name)),
                ("path", .optional(path)), ("sha256", .optional(digest)),
            ]
            if let problem { members.append(("problem", .string(problem))) }
            return .object(members)
        }

        /// One line for people: `tool kubectl /usr/bin/kubectl sha256:…`.
        public var summary: String {
            var text = "\(kind.rawValue) \(name)"
            if let path, path != name { text += " \(path)" }
            text += " " + (digest ?? problem ?? "absent")
            return text
        }
    }

    /// In first-use order: tools, then files, then kubeconfig files.
    public var items: [Binding]

    public init(items: [Binding]) { self.items = items }

    /// What the plan digest covers.
    var executableJSON: JSONValue { .array(items.map(\.executableJSON)) }

    /// As the plan JSON shows them (`bindings`).
    public var json: JSONValue { .array(items.map(\.json)) }

    /// Bindings read back from a plan JSON's `bindings`; nil when it is not what `json` writes.
    public init?(json value: JSONValue) {
        guard let array = value.arrayValue else { return nil }
        var items: [Binding] = []
        for item in array {
            guard let kindText = item["kind"]?.stringValue, let kind = Kind(rawValue: kindText), let name = item["name"]?.stringValue else {
                return nil
            }
            items.append(
                Binding(
                    kind: kind, name: name, path: item["path"]?.stringValue, digest: item["sha256"]?.stringValue,
                    problem: item["problem"]?.stringValue))
        }
        self.items = items
    }

    /// The part of a plan JSON's `bindings` the digest covers, rebuilt from what the JSON shows.
    static func executableJSON(fromJSON value: JSONValue) -> JSONValue? {
        PlanBindings(json: value)?.executableJSON
    }

    /// What differs between these bindings (the approved plan's) and `now`, one sentence each,
    /// naming the tool or file; empty when nothing the digest covers changed.
    public func changes(to now: PlanBindings) -> [String] {
        var out: [String] = []
        func key(_ b: Binding) -> String { "\(b.kind.rawValue) \(b.name)" }
        let before = Dictionary(items.map { (key($0), $0) }, uniquingKeysWith: { a, _ in a })
        let after = Dictionary(now.items.map { (key($0), $0) }, uniquingKeysWith: { a, _ in a })
        for item in items {
            guard let current = after[key(item)] else {
                out.append("\(key(item)) is no longer used")
                continue
            }
            guard current.executableJSON != item.executableJSON else { continue }
            out.append(
                "\(key(item)) was \(item.path ?? "not found") \(item.digest.map(Self.short) ?? "(no content)"), is now \(current.path ?? "not found") \(current.digest.map(Self.short) ?? "(\(current.problem ?? "no content"))")"
            )
        }
        for item in now.items where before[key(item)] == nil {
            out.append("\(key(item)) is new: \(item.path ?? "not found") \(item.digest.map(Self.short) ?? "")")
        }
        return out
    }

    /// `sha256:` and the first 12 hex digits.
    static func short(_ digest: String) -> String { String(digest.prefix("sha256:".count + 12)) + "…" }

    /// The action options whose value is a local file the action reads (`apply-manifest --filename=`).
    static let fileOptions = ["--filename="]

    /// The bindings of a plan's steps, computed now in `environment`: each command's program
    /// resolved as the run resolves it (a configured path, else the step's `PATH`), `vault` when a
    /// secret is read from Vault, the files commands read, the values file, and kubeconfig files
    /// when a step runs kubectl.
    public static func compute(steps: [PlanStep], environment: BindingEnvironment) -> PlanBindings {
        var items: [Binding] = []
        var seen: Set<String> = []
        func add(_ binding: Binding) {
            if seen.insert("\(binding.kind.rawValue) \(binding.name)").inserted { items.append(binding) }
        }
        var files: [String] = []
        for step in steps {
            var path = environment.variables["PATH"]
            if let own = step.environment.first(where: { $0.name == "PATH" }) { path = own.value }
            for command in step.commands + step.dryRunCommands {
                guard let program = command.first else { continue }
                add(tool(program, configured: environment.programs[program], searchPath: path))
                for argument in command {
                    for option in fileOptions where argument.hasPrefix(option) { files.append(String(argument.dropFirst(option.count))) }
                }
            }
            if step.secrets.contains(where: { $0.store == "vault" }) {
                add(tool("vault", configured: environment.programs["vault"], searchPath: environment.variables["PATH"]))
            }
        }
        if let values = environment.valuesFile { files.append(values) }
        for name in files {
            let absolute = name.hasPrefix("/") ? name : environment.workingDirectory + "/" + name
            let read = fileDigest(absolute)
            add(Binding(kind: .file, name: name, path: absolute, digest: read.digest, problem: read.problem))
        }
        if steps.contains(where: { $0.runtime == .k8s }) {
            for config in kubeconfigFiles(environment.variables) {
                let read = fileDigest(config)
                add(Binding(kind: .kubeconfig, name: config, path: config, digest: read.digest, problem: read.problem))
            }
        }
        return PlanBindings(items: items)
    }

    /// The files kubectl reads its configuration from: `KUBECONFIG`'s entries, else `~/.kube/config`.
    static func kubeconfigFiles(_ variables: [String: String]) -> [String] {
        if let list = variables["KUBECONFIG"], !list.isEmpty {
            return list.split(separator: ":", omittingEmptySubsequences: true).map(String.init)
        }
        return [(variables["HOME"] ?? "/nonexistent") + "/.kube/config"]
    }

    private static func tool(_ program: String, configured: String?, searchPath: String?) -> Binding {
        guard let path = ExecutableLookup.resolve(configured ?? program, searchPath: searchPath) else {
            return Binding(
                kind: .tool, name: program, path: nil, digest: nil,
                problem: configured.map { "\($0): not an executable file" } ?? "not found on PATH")
        }
        let read = fileDigest(path)
        return Binding(kind: .tool, name: program, path: path, digest: read.digest, problem: read.problem)
    }

    /// The most bytes hashed of one file (a tool binary is tens of megabytes).
    static let maxHashedBytes: Int64 = 1 << 30

    /// `sha256:` of a regular file's bytes, or why there is none. Opened without blocking and
    /// checked on its descriptor, so a FIFO or a device named as a manifest cannot hang the plan.
    static func fileDigest(_ path: String) -> (digest: String?, problem: String?) {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return (nil, errno == ENOENT ? "absent" : "cannot be read: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return (nil, "not a regular file") }
        guard Int64(info.st_size) <= maxHashedBytes else { return (nil, "larger than 1 GiB") }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                return (nil, "cannot be read: \(String(cString: strerror(errno)))")
            }
            hasher.update(data: buffer[0..<n])
        }
        return ("sha256:" + ContentDigest.hex(hasher.finalize()), nil)
    }
}
