import Foundation

/// Command-line arguments as the bytes the kernel passed: swift-argument-parser sees them decoded
/// as UTF-8 with invalid bytes replaced (U+FFFD), which would name another file.
enum RawArguments {
    /// The exact argv bytes of each parsed value: a value without a replacement character is its
    /// own UTF-8; one with it is matched to the unused argv entry that decodes to it.
    static func bytes(for parsed: [String]) -> [[UInt8]] {
        let raw: [[UInt8]] = (0..<Int(CommandLine.argc)).map { index in
            guard let argument = CommandLine.unsafeArgv[index] else { return [] }
            return Array(
                UnsafeBufferPointer(start: UnsafeRawPointer(argument).assumingMemoryBound(to: UInt8.self), count: strlen(argument)))
        }
        var used = Set<Int>()
        return parsed.map { value in
            guard value.unicodeScalars.contains("\u{FFFD}") else { return Array(value.utf8) }
            guard let index = raw.indices.first(where: { !used.contains($0) && String(decoding: raw[$0], as: UTF8.self) == value }) else {
                return Array(value.utf8)
            }
            used.insert(index)
            return raw[index]
        }
    }
}
