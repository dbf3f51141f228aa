import FuzzSupport
import WPKCore

/// Loader, JSON Schema and rules on arbitrary bytes: every diagnostic has a position inside the
/// file and a pointer that resolves in the document.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzInput(data, size)
    let report = wpkChecker.check(bytes: bytes, path: "fuzz")
    let root = try? YAMLLoader.load(bytes).root
    for diagnostic in report.diagnostics {
        if let mark = diagnostic.mark {
            precondition(mark.line >= 1 && mark.column >= 1 && mark.offset <= bytes.count, "mark outside the input: \(diagnostic)")
        }
        if let root, diagnostic.source != .yaml, diagnostic.code != "WPK213" {
            precondition(root.resolve(pointer: diagnostic.pointer) != nil, "pointer does not resolve: \(diagnostic)")
        }
    }
    return 0
}

@main
enum FuzzValidator {
    static func main() { runFuzzer(fuzzOneInput) }
}
