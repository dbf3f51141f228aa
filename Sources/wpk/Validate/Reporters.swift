import Foundation
import WPKCore

/// Streams file reports to standard output in one of the contract's formats.
protocol Reporter {
    mutating func begin()
    mutating func report(_ file: FileReport)
    mutating func finish(_ summary: Summary)
}

/// Totals over all files checked.
struct Summary {
    var files = 0
    var errors = 0
    var warnings = 0

    mutating func add(_ report: FileReport) {
        files += 1
        errors += report.diagnostics.filter { $0.severity == .error }.count
        warnings += report.diagnostics.filter { $0.severity == .warning }.count
    }
}

/// Output formats of `wpk validate`.
enum ReportFormat: String, CaseIterable {
    case text, json, sarif

    /// `maxDiagnostics` bounds the text shown per file (0: no bound); JSON and SARIF keep every diagnostic.
    func makeReporter(maxDiagnostics: Int = TextReporter.defaultMaxDiagnostics) -> any Reporter {
        switch self {
        case .text: TextReporter(colors: TerminalColors.forStandardOutput(), maxDiagnostics: maxDiagnostics)
        case .json: JSONReporter()
        case .sarif: SARIFReporter()
        }
    }
}

/// ANSI colours, or none: only when standard output is a terminal and NO_COLOR is unset.
struct TerminalColors {
    var enabled: Bool

    static func forStandardOutput() -> TerminalColors {
        let environment = ProcessInfo.processInfo.environment
        let noColor = environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        let dumb = environment["TERM"] == "dumb"
        return TerminalColors(enabled: isatty(1) == 1 && !noColor && !dumb)
    }

    func paint(_ text: String, _ code: String) -> String {
        enabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    func severity(_ severity: Diagnostic.Severity) -> String {
        switch severity {
        case .error: paint("error", "1;31")
        case .warning: paint("warning", "1;33")
        case .info: paint("info", "1;36")
        }
    }
}

/// Compiler-style text: `path:line:col: severity: message [CODE]`, then the source line and a caret.
struct TextReporter: Reporter {
    var colors: TerminalColors
    /// Where the text goes: standard output, or standard error for warnings beside a plan.
    var write: (String) -> Void = writeOut
    /// Most diagnostics shown per file, then one line counting the rest (0: all). A playbook with
    /// 100,000 broken handlers would otherwise print tens of megabytes nobody reads.
    var maxDiagnostics = TextReporter.defaultMaxDiagnostics

    /// The default bound of `maxDiagnostics`.
    static let defaultMaxDiagnostics = 200

    mutating func begin() {}

    mutating func report(_ file: FileReport) {
        var out = ""
        let path = DisplaySanitizer.sanitize(file.path)
        let shown = maxDiagnostics > 0 ? file.diagnostics.prefix(maxDiagnostics) : file.diagnostics[...]
        for diagnostic in shown {
            let position = diagnostic.mark.map { ":\($0.line):\($0.column)" } ?? ""
            out += colors.paint("\(path)\(position):", "1") + " \(colors.severity(diagnostic.severity)): "
            out += DisplaySanitizer.sanitize(diagnostic.message) + " [\(diagnostic.code)]\n"
            if let mark = diagnostic.mark, let lines = file.lines {
                out += TextReporter.excerpt(lines: lines, mark: mark, colors: colors)
            }
        }
        if shown.count < file.diagnostics.count {
            let rest = file.diagnostics[shown.count...]
            let counts = Diagnostic.Severity.allCases.compactMap { severity -> String? in
                let count = rest.count { $0.severity == severity }
                return count == 0 ? nil : "\(count) \(severity.rawValue)\(count == 1 || severity == .info ? "" : "s")"
            }
            out +=
                colors.paint("\(path):", "1") + " \(rest.count) more diagnostic\(rest.count == 1 ? "" : "s") not shown ("
                + counts.joined(separator: ", ") + "); --max-diagnostics 0 shows all\n"
        }
        write(out)
    }

    mutating func finish(_ summary: Summary) {
        guard summary.errors + summary.warnings > 0 else { return }
        let files = summary.files == 1 ? "1 file" : "\(summary.files) files"
        write(
            "\(files) checked: \(summary.errors) error\(summary.errors == 1 ? "" : "s"), \(summary.warnings) warning\(summary.warnings == 1 ? "" : "s")\n"
        )
    }

    /// The source line (sanitized, tabs as spaces) with a caret under the mark's column.
    static func excerpt(lines: LineIndex, mark: Mark, colors: TerminalColors) -> String {
        let bytes = lines.lineBytes(mark.line)
        guard !bytes.isEmpty || mark.column == 1 else { return "" }
        let text = String(decoding: bytes, as: UTF8.self)
        var shown = ""
        var caretOffset = 0
        for (index, scalar) in text.unicodeScalars.enumerated() {
            let piece = scalar == "\t" ? " " : DisplaySanitizer.sanitize(String(scalar))
            if index < mark.column - 1 { caretOffset += piece.unicodeScalars.count }
            shown += piece
        }
        let maxWidth = 160
        if shown.unicodeScalars.count > maxWidth {
            shown = String(String.UnicodeScalarView(shown.unicodeScalars.prefix(maxWidth))) + "…"
        }
        let gutter = String(mark.line)
        let pad = String(repeating: " ", count: gutter.count)
        var out = " \(gutter) | \(shown)\n"
        if caretOffset <= maxWidth {
            out += " \(pad) | " + String(repeating: " ", count: caretOffset) + colors.paint("^", "1;32") + "\n"
        }
        return out
    }
}

/// The contract's JSON object, streamed one file per line so memory stays flat.
struct JSONReporter: Reporter {
    private var first = true

    mutating func begin() {
        writeOut("{\"version\":1,\"files\":[\n")
    }

    mutating func report(_ file: FileReport) {
        let diagnostics = file.diagnostics.map { d -> JSONValue in
            .object([
                ("severity", .string(d.severity.rawValue)),
                ("code", .string(d.code)),
                ("source", .string(d.source.rawValue)),
                ("message", .string(d.message)),
                ("pointer", .string(d.pointer)),
                ("line", d.mark.map { .int($0.line) } ?? .null),
                ("column", d.mark.map { .int($0.column) } ?? .null),
            ])
        }
        let object = JSONValue.object([
            ("path", .string(file.path)),
            ("digest", .optional(file.digest)),
            ("valid", .bool(file.isValid)),
            ("diagnostics", .array(diagnostics)),
        ])
        writeOut((first ? "" : ",\n") + object.serialized(.compact))
        first = false
    }

    mutating func finish(_ summary: Summary) {
        let tail = JSONValue.object([
            ("files", .int(summary.files)), ("errors", .int(summary.errors)), ("warnings", .int(summary.warnings)),
        ])
        writeOut((first ? "" : "\n") + "],\"summary\":" + tail.serialized(.compact) + "}\n")
    }
}

/// SARIF 2.1.0: one run, a rule per code, a result per diagnostic. Results stream first; the
/// tool's rule list (known only at the end) follows them in the same run object.
struct SARIFReporter: Reporter {
    private var first = true
    private var ruleIndex: [String: Int] = [:]
    private var rules: [JSONValue] = []

    mutating func begin() {
        writeOut("{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\"version\":\"2.1.0\",\"runs\":[{\"results\":[\n")
    }

    mutating func report(_ file: FileReport) {
        for d in file.diagnostics {
            let index = rule(for: d.code)
            var location: [(key: String, value: JSONValue)] = [
                ("artifactLocation", .object([("uri", .string(SARIFReporter.uri(for: file.path)))]))
            ]
            if let mark = d.mark {
                location.append(("region", .object([("startLine", .int(mark.line)), ("startColumn", .int(mark.column))])))
            }
            var result: [(key: String, value: JSONValue)] = [
                ("ruleId", .string(d.code)),
                ("ruleIndex", .int(index)),
                ("level", .string(SARIFReporter.level(d.severity))),
                ("message", .object([("text", .string(d.message))])),
                ("locations", .array([.object([("physicalLocation", .object(location))])])),
            ]
            if !d.pointer.isEmpty {
                result.append(("properties", .object([("pointer", .string(d.pointer)), ("source", .string(d.source.rawValue))])))
            } else {
                result.append(("properties", .object([("source", .string(d.source.rawValue))])))
            }
            writeOut((first ? "" : ",\n") + JSONValue.object(result).serialized(.compact))
            first = false
        }
    }

    mutating func finish(_ summary: Summary) {
        let driver = JSONValue.object([
            ("name", .string("wpk")),
            ("version", .string(WPK.configuration.version)),
            ("informationUri", .string("https://example.invalid/wpk")),
            ("rules", .array(rules)),
        ])
        writeOut((first ? "" : "\n") + "],\"tool\":" + JSONValue.object([("driver", driver)]).serialized(.compact) + "}]}\n")
    }

    private mutating func rule(for code: String) -> Int {
        if let index = ruleIndex[code] { return index }
        let index = rules.count
        ruleIndex[code] = index
        rules.append(
            .object([
                ("id", .string(code)),
                ("shortDescription", .object([("text", .string(DiagnosticCatalog.title(of: code) ?? code))])),
            ]))
        return index
    }

    static func level(_ severity: Diagnostic.Severity) -> String {
        switch severity {
        case .error: "error"
        case .warning: "warning"
        case .info: "note"
        }
    }

    /// A relative URI reference for a path: unreserved characters and `/` kept, the rest escaped.
    static func uri(for path: String) -> String {
        if path == "-" { return "stdin" }
        var out = ""
        for byte in path.utf8 {
            let ch = Character(Unicode.Scalar(byte))
            if byte < 0x80, ch.isLetter || ch.isNumber || "-._~/".contains(ch) {
                out.append(ch)
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}
