import Foundation
import WPKCore

// Schema validation against the realistic fixture schema (issue 3). Optional argument: another
// schema file to compile and validate the same corpus against (e.g. specs/wpk_schema.yaml).
do {
    let path = CommandLine.arguments.dropFirst().first ?? schemaBenchmarkFixturePath()
    let schema = try CompiledSchema(contentsOfFile: path)
    print("schema file: \(path)")
    runSchemaBenchmark(corpus: generatedPlaybookCorpus(count: 1000), schema: schema)
} catch {
    print("schema benchmark: \(error)")
}
