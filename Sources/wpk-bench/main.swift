import Foundation
import WPKCore

// Schema validation benchmark (issue 3). Usage: wpk-bench [SCHEMA [PLAYBOOK...]]
// Without arguments: the realistic fixture schema and 1,000 generated playbooks. With playbooks:
// those files, repeated to 1,000 documents, against SCHEMA (e.g. specs/wpk_schema.yaml examples/playbooks/*).
do {
    let arguments = Array(CommandLine.arguments.dropFirst())
    let path = arguments.first ?? schemaBenchmarkFixturePath()
    let schema = try CompiledSchema(contentsOfFile: path)
    print("schema file: \(path)")
    let files = arguments.dropFirst().compactMap { FileManager.default.contents(atPath: $0).map { [UInt8]($0) } }
    let corpus = files.isEmpty ? generatedPlaybookCorpus(count: 1000) : (0..<1000).map { files[$0 % files.count] }
    runSchemaBenchmark(corpus: corpus, schema: schema)
} catch {
    print("schema benchmark: \(error)")
}
