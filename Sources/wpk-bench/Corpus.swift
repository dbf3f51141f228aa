import Foundation

/// The benchmark corpus: copies of the five bundled example playbooks, each renamed, so every
/// document is a real, valid playbook of realistic size (the same corpus `bench/generate_corpus.py`
/// writes to disk for the process-level comparison).
enum Corpus {
    /// `count` playbooks as bytes, read from `examples/playbooks` under `root`.
    static func playbooks(count: Int, root: String = FileManager.default.currentDirectoryPath) throws -> [[UInt8]] {
        let directory = root + "/examples/playbooks"
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".wpk.yaml") }.sorted()
        let texts = try names.map { try String(contentsOfFile: directory + "/" + $0, encoding: .utf8) }
        guard !texts.isEmpty else { throw CocoaError(.fileNoSuchFile) }
        return (0..<count).map { index in
            Array(renamed(texts[index % texts.count], copy: index).utf8)
        }
    }

    /// The playbook with `-<copy>` appended to its `metadata.name` (the first two-space `name:` line).
    static func renamed(_ text: String, copy: Int) -> String {
        var lines = text.components(separatedBy: "\n")
        if let index = lines.firstIndex(where: { $0.hasPrefix("  name: ") }) {
            lines[index] += "-\(copy)"
        }
        return lines.joined(separator: "\n")
    }
}
