import Foundation
import Testing

@testable import WPKCore

/// Real processes appending to one ledger: the `ledger-stress` helper built beside the tests.
@Suite("Ledger concurrency and crashes", .serialized)
struct LedgerConcurrencyTests {
    private func launchWriter(_ ledger: String, count: Int, tag: String) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: LedgerFixtures.helperPath)
        process.arguments = ["append", ledger, String(count), tag]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        return (process, output)
    }

    @Test func fourProcessesAppendingFiveHundredEachKeepTheChain() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("ledger.jsonl")
        let writers = try (1...4).map { try launchWriter(path, count: 500, tag: "w\($0)") }
        for (process, output) in writers {
            _ = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        }
        let reading = try Ledger(path: path).read()
        #expect(reading.fault == nil)
        #expect(reading.records.count == 2000)
        #expect(reading.tornTailBytes == 0)
        // No interleaved bytes: every line is one whole record, and each writer's records are
        // all there, in its own order.
        let lines = LedgerFixtures.lines(path)
        #expect(lines.count == 2000)
        for tag in ["w1", "w2", "w3", "w4"] {
            let steps = reading.records.filter { $0.draft.run == tag }.map(\.draft.step)
            let complete = steps == (1...500).map { "step-\($0)" }
            #expect(complete, "writer \(tag): \(steps.count) records")
        }
    }

    @Test func writerKilledInALoopLeavesALedgerVerifiedUpToItsLastAcknowledgedRecord() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("ledger.jsonl")
        var acknowledged: [Int: String] = [:]
        for round in 1...12 {
            let (process, output) = try launchWriter(path, count: 0, tag: "k\(round)")
            // Wait until this writer has acknowledged a few records (the pipe read blocks until
            // it does, never a fixed sleep), then kill it mid-stream.
            var buffered = ""
            var acksThisRound = 0
            while acksThisRound < 3 + round % 4 {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                buffered += String(decoding: chunk, as: UTF8.self)
                acksThisRound = buffered.split(separator: "\n").filter { $0.hasPrefix("ack ") && $0.split(separator: " ").count == 3 }.count
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal)
            buffered += String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            for line in buffered.split(separator: "\n") {
                let parts = line.split(separator: " ")
                guard parts.count == 3, parts[0] == "ack", let seq = Int(parts[1]) else { continue }
                acknowledged[seq] = String(parts[2])
            }
            let reading = try Ledger(path: path).read()
            #expect(reading.fault == nil, "round \(round)")
            let lastAck = acknowledged.keys.max() ?? 0
            #expect(reading.records.count >= lastAck)
            for (seq, hash) in acknowledged where seq <= reading.records.count {
                #expect(reading.records[seq - 1].hash == hash)
            }
        }
        // A torn tail, as a crash between two write calls would leave, is set aside by the next writer.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("{\"seq\":".utf8))
        try handle.close()
        let before = try Ledger(path: path).read()
        #expect(before.isIntact && before.tornTailBytes == 7)
        let (process, output) = try launchWriter(path, count: 1, tag: "after")
        _ = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let after = try Ledger(path: path).read()
        #expect(after.isIntact && after.tornTailBytes == 0 && after.records.count == before.records.count + 1)
    }
}
