/// Everything found in one input file.
public struct FileReport: Sendable {
    public var path: String
    /// `sha256:<hex>` of the exact bytes read; nil when the file could not be read (or the
    /// checker was told not to record digests).
    public var digest: String?
    /// Sorted by position, errors before warnings at the same position.
    public var diagnostics: [Diagnostic]
    /// The source, for excerpts; nil when the file could not be read.
    public var lines: LineIndex?
    /// The playbook's signature as checked (its diagnostic is among `diagnostics`); nil when
    /// the checker checks no signatures or the file could not be loaded.
    public var signature: PlaybookSignatureCheck?

    /// A report of a file at `path` with its digest, diagnostics and source.
    public init(path: String, digest: String?, diagnostics: [Diagnostic], lines: LineIndex?, signature: PlaybookSignatureCheck? = nil) {
        self.path = path
        self.digest = digest
        self.diagnostics = diagnostics
        self.lines = lines
        self.signature = signature
    }

    /// A file is valid when it has no error diagnostic.
    public var isValid: Bool { !diagnostics.contains { $0.severity == .error } }
}

/// Checks playbooks: read, load as YAML, validate against the schema, apply the WPK rules.
/// Problems in one file are values in its report and never stop the others.
public struct PlaybookChecker: Sendable {
    /// The JSON Schema every document is checked against; nil skips the schema stage.
    public var schema: CompiledSchema?
    /// Whether the WPK semantic rules run (off for `--schema-only`).
    public var appliesRules: Bool
    public var limits: LoaderLimits
    /// Whether reports carry the digest of the bytes read (only some outputs show it).
    public var recordsDigest: Bool
    /// The keys playbook signatures are checked against; nil checks no signatures (and the
    /// rules must be on: a signature is a playbook's, not any document's).
    public var signatures: PlaybookSignatureTrust?
    /// The machine policy's gate floor: the rules report a manual step that opts out of a gate it
    /// imposes, and the planner gates such steps whatever they say.
    public var gateFloor: MachinePolicy.GateFloor
    /// Where plans made through this checker bind their tools and files (`PlanBindings`); nil
    /// makes plans that bind only the playbook (tests of the planner alone, `wpk validate`).
    public var planEnvironment: BindingEnvironment?

    public init(
        schema: CompiledSchema?, appliesRules: Bool = true, limits: LoaderLimits = .default, recordsDigest: Bool = true,
        signatures: PlaybookSignatureTrust? = nil, gateFloor: MachinePolicy.GateFloor = MachinePolicy.builtIn.gate,
        planEnvironment: BindingEnvironment? = nil
    ) {
        self.gateFloor = gateFloor
        self.planEnvironment = planEnvironment
        self.schema = schema
        self.appliesRules = appliesRules
        self.limits = limits
        self.recordsDigest = recordsDigest
        self.signatures = signatures
    }

    /// A checker like this one whose schema shares no objects with it, for another thread.
    public func separateCopy() -> PlaybookChecker {
        var copy = self
        if let own = schema?.separateCopy() { copy.schema = own }
        return copy
    }

    /// Reads and checks one input.
    public func check(_ input: PlaybookInput) -> FileReport {
        if case .notFollowed(let path, let reason) = input {
            let diagnostic = Diagnostic(severity: .info, code: PlaybookChecker.notFollowedCode, source: .yaml, message: reason, mark: nil)
            return FileReport(path: path, digest: nil, diagnostics: [diagnostic], lines: nil)
        }
        switch SourceReader.contents(of: input, limit: limits.maxFileBytes) {
        case .success(let bytes):
            return check(bytes: bytes, path: input.displayPath)
        case .failure(.tooLarge(let limit)):
            let error = YAMLError(.sizeLimit, "file is larger than the limit of \(limit) bytes", at: .origin)
            return FileReport(path: input.displayPath, digest: nil, diagnostics: [Diagnostic(error)], lines: nil)
        case .failure(.unreadable(let reason)):
            let diagnostic = Diagnostic(
                severity: .error, code: PlaybookChecker.unreadableCode, source: .yaml,
                message: "cannot read file: \(reason)", mark: nil)
            return FileReport(path: input.displayPath, digest: nil, diagnostics: [diagnostic], lines: nil)
        }
    }

    /// The code of a file that cannot be opened or read at all.
    public static let unreadableCode = "WPK100"

    /// The code of a symbolic link a directory walk did not follow (information).
    public static let notFollowedCode = "WPK115"

    /// Checks bytes already read; a `path` ending in `.json` is read as JSON, any other as YAML.
    public func check(bytes: [UInt8], path: String) -> FileReport {
        let digest = recordsDigest ? ContentDigest.sha256(bytes) : nil
        var diagnostics: [Diagnostic] = []
        let lines: LineIndex
        var signature: PlaybookSignatureCheck?
        do {
            let document = try SourceDocument.load(bytes, path: path, limits: limits)
            lines = document.lines
            diagnostics += checkDocument(document)
            if appliesRules, let signatures {
                signature = PlaybookSignatureVerifier.check(bytes: bytes, path: path, root: document.root, trust: signatures)
                if let diagnostic = signature?.diagnostic { diagnostics.append(diagnostic) }
            }
        } catch {
            lines = LineIndex(bytes)
            diagnostics.append(Diagnostic(error))
        }
        diagnostics.sort(by: PlaybookChecker.reportOrder)
        return FileReport(path: path, digest: digest, diagnostics: diagnostics, lines: lines, signature: signature)
    }

    /// The schema and rule stages on a loaded document.
    func checkDocument(_ document: Document) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        if let schema {
            diagnostics += schema.validate(document.root).map(\.diagnostic)
        }
        if appliesRules {
            diagnostics += PlaybookRules.check(document: document, gateFloor: gateFloor)
        }
        return diagnostics
    }

    /// Position order; errors first at the same position; then code for stability.
    static func reportOrder(_ a: Diagnostic, _ b: Diagnostic) -> Bool {
        let aOffset = a.mark?.offset ?? -1
        let bOffset = b.mark?.offset ?? -1
        if aOffset != bOffset { return aOffset < bOffset }
        if a.severity != b.severity { return a.severity < b.severity }
        return a.code < b.code
    }
}
