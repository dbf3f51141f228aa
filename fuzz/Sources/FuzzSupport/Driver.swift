import Foundation
import WPKCore

/// libFuzzer's driver from `libclang_rt.fuzzer_no_main`, which lets a Swift `@main` own startup.
// swift-format-ignore: AlwaysUseLowerCamelCase
// The C symbol libFuzzer exports keeps its own name.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// Runs libFuzzer with the process's arguments, calling `callback` with each input.
///
/// The driver runs on a thread with a 512 MiB stack: the address sanitizer makes every frame much
/// larger, and the schema validator's stack guard would otherwise stop on the main thread's 8 MiB.
public func runFuzzer(_ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Never {
    FuzzerThread.callback = callback
    let thread = Thread {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        let status = LLVMFuzzerRunDriver(&argc, &argv, FuzzerThread.callback!)
        exit(status)
    }
    thread.stackSize = 512 << 20
    thread.start()
    while true { sleep(3600) }
}

/// Hands the callback to the driver thread.
private enum FuzzerThread {
    nonisolated(unsafe) static var callback: (@convention(c) (UnsafePointer<UInt8>?, Int) -> Int32)?
}

/// The bytes of one fuzzer input.
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
}

/// The repository root, from this file's location (fuzz/Sources/FuzzSupport/).
public let repositoryRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(4)
    return parts.joined(separator: "/")
}()

/// The checker exactly as `wpk validate` runs it (the real WPK schema, then the rules), compiled once.
public let wpkChecker: PlaybookChecker = {
    do {
        return PlaybookChecker(schema: try CompiledSchema(contentsOfFile: repositoryRoot + "/specs/wpk_schema.yaml"))
    } catch {
        fatalError("cannot compile the WPK schema: \(error)")
    }
}()
