import FuzzSupport
import WPKCore

/// The YAML loader on arbitrary bytes: a tree, or an error whose mark lies inside the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzInput(data, size)
    do throws(YAMLError) {
        let document = try YAMLLoader.load(bytes)
        _ = JSONValue(document.root).serialized(.canonical)
    } catch {
        precondition(error.mark.line >= 1 && error.mark.column >= 1 && error.mark.offset <= bytes.count, "bad mark \(error)")
    }
    return 0
}

@main
enum FuzzLoader {
    static func main() { runFuzzer(fuzzOneInput) }
}
