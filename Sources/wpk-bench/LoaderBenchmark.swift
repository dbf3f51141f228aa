import CYAML
import Foundation
import WPKCore

/// Loader throughput next to libyaml's bare event parse of the same bytes, in one run.
enum LoaderBenchmark {
    /// Parses every document with libyaml's event API and discards the events: the floor.
    static func bareEventParse(_ corpus: [[UInt8]]) -> Int {
        var events = 0
        for bytes in corpus {
            bytes.withUnsafeBufferPointer { buffer in
                var parser = yaml_parser_t()
                yaml_parser_initialize(&parser)
                defer { yaml_parser_delete(&parser) }
                yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
                var event = yaml_event_t()
                while yaml_parser_parse(&parser, &event) == 1 {
                    let done = event.type == YAML_STREAM_END_EVENT
                    yaml_event_delete(&event)
                    events += 1
                    if done { break }
                }
            }
        }
        return events
    }

    /// Loads every document into a Node tree.
    static func load(_ corpus: [[UInt8]]) -> Int {
        var nodes = 0
        for bytes in corpus {
            if let document = try? YAMLLoader.load(bytes), let entries = document.root.mapping {
                nodes += entries.count
            }
        }
        return nodes
    }

    static func run(corpus: [[UInt8]], rounds: Int) -> [BenchmarkResult] {
        let bytes = corpus.reduce(0) { $0 + $1.count }
        return measure(
            bytes: bytes, rounds: rounds,
            [
                Workload(name: "libyaml bare event parse") { bareEventParse(corpus) },
                Workload(name: "wpk YAMLLoader (tree + positions)") { load(corpus) },
            ])
    }
}
