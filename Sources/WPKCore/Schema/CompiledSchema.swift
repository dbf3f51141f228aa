import Foundation

/// A JSON Schema (draft 2020-12) compiled once, then used to validate any number of documents.
///
/// Schemas are read with the YAML loader, so they may be YAML or JSON. References to other
/// documents resolve through the caller's map, then (for `file:` URIs) relative to the schema
/// file on disk; the network is never used.
public struct CompiledSchema: Sendable {
    /// Compile-time choices.
    public struct Options: Sendable {
        /// Assert the formats wpk knows (date-time, email, uri, ...) instead of only annotating.
        public var assertFormats = false
        /// Check every schema document against the 2020-12 metaschema before compiling it.
        public var checkMetaschema = true
        /// Read `file:` references from disk when the map does not hold them.
        public var readFiles = true

        /// Options with every default spelled out.
        public init(assertFormats: Bool = false, checkMetaschema: Bool = true, readFiles: Bool = true) {
            self.assertFormats = assertFormats
            self.checkMetaschema = checkMetaschema
            self.readFiles = readFiles
        }
    }

    let program: SchemaProgram
    let root: Int
    /// The URI the schema was compiled under (its `$id` resolves against it).
    public let baseURI: String
    /// What it was compiled from, to compile it again (see `separateCopy`).
    private let source: (root: Node, documents: [String: Node], options: Options, patterns: [String: NSRegularExpression])

    /// Compiles `root`, a schema document retrieved from `baseURI`; `documents` maps absolute URIs
    /// to other schema documents that references may name.
    public init(_ root: Node, baseURI: String = "urn:wpk:schema", documents: [String: Node] = [:], options: Options = Options())
        throws(SchemaError)
    {
        try self.init(root, baseURI: baseURI, documents: documents, options: options, rootPassedMetaschema: false)
    }

    /// As the public initializer; `rootPassedMetaschema` skips the metaschema check of `root`
    /// alone (documents it references are still checked).
    init(
        _ root: Node, baseURI: String, documents: [String: Node], options: Options, rootPassedMetaschema: Bool,
        knownPatterns: [String: NSRegularExpression] = [:]
    ) throws(SchemaError) {
        if options.checkMetaschema && !rootPassedMetaschema { try CompiledSchema.checkAgainstMetaschema(root, uri: baseURI) }
        let compiler = SchemaCompiler(documents: documents, readFiles: options.readFiles, assertFormats: options.assertFormats)
        compiler.knownPatterns = knownPatterns
        (program, self.root) = try compiler.compile(root: root, baseURI: baseURI)
        self.baseURI = baseURI
        source = (root, documents, options, compiler.compiledPatterns)
        if options.checkMetaschema {
            for document in compiler.referencedDocuments { try CompiledSchema.checkAgainstMetaschema(document.node, uri: document.uri) }
            // A schema whose `$schema` names a metaschema file must also be valid against that.
            for named in compiler.metaschemaFiles {
                guard let metaschema = compiler.document(named.uri) else { continue }
                var metaOptions = options
                metaOptions.checkMetaschema = false  // checked against 2020-12 just above
                let compiled = try CompiledSchema(metaschema, baseURI: named.uri, documents: documents, options: metaOptions)
                try CompiledSchema.check(named.schema, against: compiled, schemaURI: named.schemaBase, metaschemaURI: named.uri)
            }
        }
    }

    /// Reads and compiles the schema file at `path` (YAML or JSON); its references to other
    /// files resolve relative to its directory.
    ///
    /// With `verdicts`, a file whose exact bytes passed the metaschema check before is not checked
    /// again (checking first compiles the whole 2020-12 metaschema, most of a one-file run), and
    /// a file that passes now is recorded there.
    public init(
        contentsOfFile path: String, documents: [String: Node] = [:], options: Options = Options(),
        verdicts: (any MetaschemaVerdicts)? = nil
    ) throws(SchemaError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SchemaError("cannot read the schema file \(path)", location: "", mark: nil)
        }
        try self.init(
            bytes: [UInt8](data), path: path, baseURI: CompiledSchema.fileURI(path), documents: documents, options: options,
            verdicts: verdicts)
    }

    /// Compiles the WPK schema the binary carries (`EmbeddedWPKSchema`, a copy of
    /// specs/wpk_schema.yaml), with the same verdict store as a schema file.
    public static func embeddedWPK(options: Options = Options(), verdicts: (any MetaschemaVerdicts)? = nil) throws(SchemaError)
        -> CompiledSchema
    {
        try CompiledSchema(
            bytes: Array(EmbeddedWPKSchema.text.utf8), path: EmbeddedWPKSchema.sourcePath,
            baseURI: "urn:wpk:embedded:" + EmbeddedWPKSchema.sourcePath, documents: [:], options: options, verdicts: verdicts)
    }

    /// Compiles schema bytes read from `path` (which names them in messages and picks JSON or YAML).
    init(
        bytes: [UInt8], path: String, baseURI: String, documents: [String: Node], options: Options,
        verdicts: (any MetaschemaVerdicts)?
    ) throws(SchemaError) {
        let document: Document
        do {
            document = try SourceDocument.load(bytes, path: path)
        } catch {
            throw SchemaError(
                "schema file \(path) is not valid \(SourceDocument.isJSON(path: path) ? "JSON" : "YAML"): \(error.message) [\(error.code)]",
                location: "", mark: error.mark)
        }
        let key = verdicts.map { _ in CompiledSchema.verdictKey(schemaBytes: bytes) }
        let passedBefore = options.checkMetaschema && key.map { verdicts?.passed($0) == true } == true
        try self.init(document.root, baseURI: baseURI, documents: documents, options: options, rootPassedMetaschema: passedBefore)
        if options.checkMetaschema, !passedBefore, let key { verdicts?.recordPass(key) }
    }

    /// The key of a schema file's verdict: its bytes and the metaschema they were checked against.
    public static func verdictKey<Bytes: Sequence>(schemaBytes: Bytes) -> String where Bytes.Element == UInt8 {
        ContentDigest.sha256(Array(metaschemaIdentity.utf8) + [0] + Array(schemaBytes))
    }

    /// The embedded metaschema documents' digest, so a wpk carrying another metaschema does not
    /// trust verdicts recorded against this one.
    static let metaschemaIdentity: String = ContentDigest.sha256(
        EmbeddedMetaschema.documents.sorted { $0.key < $1.key }.flatMap { Array($0.key.utf8) + [0] + Array($0.value.utf8) + [0] })

    /// The `file:` URI of a path, made absolute against the current directory.
    public static func fileURI(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let standardized = URIReference.removeDotSegments(absolute)
        let allowed = CharacterSet.urlPathAllowed.subtracting(CharacterSet(charactersIn: "#?%"))
        return "file://" + (standardized.addingPercentEncoding(withAllowedCharacters: allowed) ?? standardized)
    }

    /// The same schema compiled again into objects of its own, for another thread: threads that
    /// share one compiled schema contend for its reference counts (a sixth more CPU time with
    /// two threads). Only ICU's compiled patterns, immutable, are shared. Nil if compiling fails
    /// this time (a referenced file changed meanwhile).
    public func separateCopy() -> CompiledSchema? {
        var options = source.options
        options.checkMetaschema = false  // checked when this one was compiled
        return try? CompiledSchema(
            source.root, baseURI: baseURI, documents: source.documents, options: options, rootPassedMetaschema: true,
            knownPatterns: source.patterns)
    }

    /// Every violation of the schema by `instance`, in document order of discovery.
    public func validate(_ instance: Node) -> [SchemaViolation] {
        var evaluator = SchemaEvaluator(program: program, instance: instance)
        var none: EvaluatedParts? = nil
        _ = evaluator.evaluate(root, instance, reporting: true, parts: &none)
        return evaluator.violations
    }

    /// True when `instance` satisfies the schema (stops at the first failure).
    public func isValid(_ instance: Node) -> Bool {
        var evaluator = SchemaEvaluator(program: program, instance: instance)
        var none: EvaluatedParts? = nil
        return evaluator.evaluate(root, instance, reporting: false, parts: &none)
    }

    /// The 2020-12 metaschema, compiled once for the process.
    static let metaschema: CompiledSchema = {
        guard let text = EmbeddedMetaschema.documents[EmbeddedMetaschema.uri], let document = try? YAMLLoader.load(text),
            let compiled = try? CompiledSchema(
                document.root, baseURI: EmbeddedMetaschema.uri,
                options: Options(checkMetaschema: false, readFiles: false))
        else {
            preconditionFailure("the embedded 2020-12 metaschema does not compile; the build is broken")
        }
        return compiled
    }()

    /// Throws a `SchemaError` listing every metaschema violation, with positions in the schema file.
    static func checkAgainstMetaschema(_ node: Node, uri: String) throws(SchemaError) {
        try check(node, against: metaschema, schemaURI: uri, metaschemaURI: "JSON Schema 2020-12")
    }

    /// Throws a `SchemaError` listing every violation of `metaschema` by the schema `node`.
    static func check(_ node: Node, against metaschema: CompiledSchema, schemaURI uri: String, metaschemaURI: String) throws(SchemaError) {
        let violations = metaschema.validate(node)
        guard let first = violations.first else { return }
        let diagnostics = violations.map { violation -> Diagnostic in
            var diagnostic = violation.diagnostic
            diagnostic.message = "schema: " + diagnostic.message
            return diagnostic
        }
        throw SchemaError(
            "\(uri) is not a valid \(metaschemaURI == "JSON Schema 2020-12" ? metaschemaURI : "schema by its metaschema " + metaschemaURI): \(first.message)",
            location: "#" + first.instancePointer,
            mark: first.mark, diagnostics: diagnostics)
    }
}

/// Remembers which schema files passed the metaschema check, by `CompiledSchema.verdictKey`, so
/// an unchanged schema is checked once rather than on every run.
public protocol MetaschemaVerdicts: Sendable {
    /// Whether the schema file with this key passed before.
    func passed(_ key: String) -> Bool
    /// Records that the schema file with this key passed.
    func recordPass(_ key: String)
}
