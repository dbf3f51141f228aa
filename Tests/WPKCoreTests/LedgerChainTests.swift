import Foundation
import Testing

@testable import WPKCore

/// A way to damage a ledger and the first bad record verification must name.
struct TamperCase: CustomTestStringConvertible, Sendable {
    var name: String
    /// Line (1-based) verification must name.
    var firstBadLine: Int
    var problemContains: String
    var damage: @Sendable ([String]) -> [String]
    var testDescription: String { name }
}

private let tamperCases: [TamperCase] = [
    TamperCase(name: "edited reason", firstBadLine: 4, problemContains: "edited") { lines in
        var lines = lines
        lines[3] = lines[3].replacingOccurrences(of: "ok 4", with: "ok X")
        return lines
    },
    TamperCase(name: "edited operator", firstBadLine: 7, problemContains: "edited") { lines in
        var lines = lines
        lines[6] = lines[6].replacingOccurrences(of: "\"operator\":\"bob\"", with: "\"operator\":\"eve\"")
        return lines
    },
    TamperCase(name: "deleted record", firstBadLine: 5, problemContains: "expected seq 5") { lines in
        var lines = lines
        lines.remove(at: 4)
        return lines
    },
    TamperCase(name: "deleted first record", firstBadLine: 1, problemContains: "expected seq 1") { lines in
        Array(lines.dropFirst())
    },
    TamperCase(name: "reordered records", firstBadLine: 3, problemContains: "expected seq 3") { lines in
        var lines = lines
        lines.swapAt(2, 3)
        return lines
    },
    TamperCase(name: "inserted copy of a record", firstBadLine: 6, problemContains: "expected seq 6") { lines in
        var lines = lines
        lines.insert(lines[2], at: 5)
        return lines
    },
    TamperCase(name: "inserted forged record with a valid own hash", firstBadLine: 6, problemContains: "prev does not match") { lines in
        // A forger who renumbers everything after the insertion still cannot fake `prev`.
        var lines = lines
        let forged = LedgerRecord(
            seq: 6, time: LedgerFixtures.t0, draft: RecordDraft(type: .approved, step: "migrate"),
            operator: LedgerFixtures.alice, prev: LedgerRecord.genesis)
        lines.insert(String(decoding: forged.json.canonicalBytes, as: UTF8.self), at: 5)
        return lines
    },
    TamperCase(name: "garbage line", firstBadLine: 2, problemContains: "not valid JSON") { lines in
        var lines = lines
        lines[1] = "{\"seq\": 2, oops"
        return lines
    },
    TamperCase(name: "hash removed", firstBadLine: 8, problemContains: "no hash") { lines in
        var lines = lines
        lines[7] = lines[7].replacingOccurrences(of: #""hash":"sha256:[0-9a-f]+","#, with: "", options: .regularExpression)
        return lines
    },
]

@Suite("Ledger chain")
struct LedgerChainTests {
    @Test func appendedRecordsReadBackAndChain() throws {
        let dir = TemporaryDirectory()
        let ledger = try LedgerFixtures.filledLedger(in: dir, count: 5)
        let reading = try ledger.read()
        #expect(reading.fault == nil)
        #expect(reading.records.map(\.seq) == [1, 2, 3, 4, 5])
        #expect(reading.records[0].prev == LedgerRecord.genesis)
        for (previous, record) in zip(reading.records, reading.records.dropFirst()) {
            #expect(record.prev == previous.hash)
        }
        #expect(reading.records[3].draft.reason == "ok 4")
        #expect(reading.records[3].operatorName == "alice")
        #expect(reading.records[3].time == LedgerFixtures.t0.addingTimeInterval(4))
        // The contract's fields are on every line, with RFC 3339 UTC times.
        let first = try JSONValue.parse(Array(LedgerFixtures.lines(ledger.path)[0].utf8))
        for field in ["seq", "time", "type", "operator", "run", "playbook_digest", "plan_digest", "step", "reason", "prev", "hash"] {
            #expect(first[field] != nil, "missing \(field)")
        }
        #expect(first["time"]?.stringValue == "2027-01-15T08:00:01Z")
        #expect(first["type"]?.stringValue == "step_finished")
    }

    /// `started_by` is written on `run_started`, read back exactly, folded into the run's history,
    /// and covered by the hash like every other field.
    @Test func startedByRoundTrips() throws {
        let dir = TemporaryDirectory()
        let ledger = Ledger(path: dir.file("ledger.jsonl"))
        let origin = StartedBy(kind: .alertmanager, trigger: "KubePodCrashLooping 5f8c0b7e2a1d3c4b", source: "127.0.0.1:40312")
        try ledger.append(
            RecordDraft(type: .runStarted, run: "0123456789abcdef", playbook: "p", startedBy: origin),
            operator: LedgerFixtures.alice, now: LedgerFixtures.t0)
        let line = LedgerFixtures.lines(ledger.path)[0]
        #expect(
            line.contains(
                #""started_by":{"kind":"alertmanager","source":"127.0.0.1:40312","trigger":"KubePodCrashLooping 5f8c0b7e2a1d3c4b"}"#))
        let reading = try ledger.read()
        #expect(reading.fault == nil)
        #expect(reading.records[0].draft.startedBy == origin)
        #expect(LedgerState(records: reading.records).runs["0123456789abcdef"]?.startedBy == origin)
        try line.replacingOccurrences(of: "alertmanager", with: "cli").appending("\n").write(
            toFile: ledger.path, atomically: true, encoding: .utf8)
        #expect(try ledger.read().fault != nil)
        #expect(StartedBy(json: try JSONValue.parse(Array(#"{"kind":"pager","trigger":"x","source":"y"}"#.utf8))) == nil)
        #expect(StartedBy(kind: .webhook, trigger: String(repeating: "é", count: 400), source: "").trigger.utf8.count == 512)
    }

    @Test(arguments: tamperCases)
    func verificationNamesTheFirstBadRecord(_ tamper: TamperCase) throws {
        let dir = TemporaryDirectory()
        let ledger = try LedgerFixtures.filledLedger(in: dir, count: 10)
        try LedgerFixtures.write(lines: tamper.damage(LedgerFixtures.lines(ledger.path)), to: ledger.path)
        let reading = try ledger.read()
        let fault = try #require(reading.fault, "no fault found")
        #expect(fault.line == tamper.firstBadLine)
        #expect(fault.problem.contains(tamper.problemContains), "\(fault.problem)")
        #expect(reading.records.count == tamper.firstBadLine - 1)
    }

    @Test func damagedChainRefusesDecisionsAndIsNotRepaired() throws {
        let dir = TemporaryDirectory()
        let ledger = try LedgerFixtures.filledLedger(in: dir, count: 4)
        var lines = LedgerFixtures.lines(ledger.path)
        lines[1] = lines[1].replacingOccurrences(of: "ok 2", with: "ok 9")
        try LedgerFixtures.write(lines: lines, to: ledger.path)
        let before = try Data(contentsOf: URL(fileURLWithPath: ledger.path))
        #expect(throws: LedgerError.self) {
            _ = try ledger.recordDecision(
                .approve, subject: LedgerFixtures.subject(), planPrefix: LedgerFixtures.planPrefix,
                policy: .loaded(.builtIn), operator: LedgerFixtures.alice, now: LedgerFixtures.t0)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: ledger.path)) == before)
    }

    @Test func tornTailIsReportedThenSetAsideOnAppend() throws {
        let dir = TemporaryDirectory()
        let ledger = try LedgerFixtures.filledLedger(in: dir, count: 3)
        let handle = try #require(FileHandle(forWritingAtPath: ledger.path))
        handle.seekToEndOfFile()
        let torn = Array("{\"seq\":4,\"time\":\"2027-01-15T08:00:04Z\",\"ty".utf8)
        handle.write(Data(torn))
        try handle.close()

        let reading = try ledger.read()
        #expect(reading.isIntact)
        #expect(reading.records.count == 3)
        #expect(reading.tornTailBytes == torn.count)

        let record = try ledger.append(RecordDraft(type: .runFinished, run: "run-1"), operator: LedgerFixtures.bob, now: LedgerFixtures.t0)
        #expect(record.seq == 4)
        let after = try ledger.read()
        #expect(after.isIntact && after.records.count == 4 && after.tornTailBytes == 0)
        let aside = try String(contentsOfFile: ledger.path + ".torn", encoding: .utf8)
        #expect(aside.contains(String(decoding: torn, as: UTF8.self)))
    }

    @Test func newLedgerIsPrivate() throws {
        let dir = TemporaryDirectory()
        let ledger = Ledger(path: dir.file("state/wpk/ledger.jsonl"))
        try ledger.append(RecordDraft(type: .runStarted, run: "r"), operator: LedgerFixtures.alice, now: LedgerFixtures.t0)
        let attributes = try FileManager.default.attributesOfItem(atPath: ledger.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let dirAttributes = try FileManager.default.attributesOfItem(atPath: dir.file("state/wpk"))
        #expect((dirAttributes[.posixPermissions] as? Int) == 0o700)
    }

    @Test func newLedgerInSetgidTeamDirectoryIsGroupWritable() throws {
        let dir = TemporaryDirectory()
        let team = dir.file("team")
        try FileManager.default.createDirectory(atPath: team, withIntermediateDirectories: false)
        #expect(chmod(team, 0o2770) == 0)
        let ledger = Ledger(path: team + "/ledger.jsonl")
        try ledger.append(RecordDraft(type: .runStarted, run: "r"), operator: LedgerFixtures.alice, now: LedgerFixtures.t0)
        let attributes = try FileManager.default.attributesOfItem(atPath: ledger.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o660)
    }

    @Test func worldWritableLedgerIsRefused() throws {
        let dir = TemporaryDirectory()
        let ledger = try LedgerFixtures.filledLedger(in: dir, count: 1)
        #expect(chmod(ledger.path, 0o666) == 0)
        for attempt in [
            { _ = try ledger.read() },
            { _ = try ledger.append(RecordDraft(type: .runFinished), operator: LedgerFixtures.alice, now: LedgerFixtures.t0) },
        ] {
            let error = try #require(throws: LedgerError.self, performing: attempt)
            #expect(error.kind == .unsafePermissions)
            #expect(error.message.contains("writable by everyone"))
        }
    }

    @Test func worldWritableDirectoryIsRefused() throws {
        let dir = TemporaryDirectory()
        let open = dir.file("open")
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: false)
        #expect(chmod(open, 0o1777) == 0)
        let ledger = Ledger(path: open + "/ledger.jsonl")
        let error = try #require(throws: LedgerError.self) {
            try ledger.append(RecordDraft(type: .runStarted), operator: LedgerFixtures.alice, now: LedgerFixtures.t0)
        }
        #expect(error.kind == .unsafePermissions)
        #expect(!ledger.exists)
    }

    @Test func symbolicLinkLedgerIsRefused() throws {
        let dir = TemporaryDirectory()
        let target = try LedgerFixtures.filledLedger(in: dir, count: 1)
        let link = dir.file("link.jsonl")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target.path)
        let error = try #require(throws: LedgerError.self) {
            try Ledger(path: link).append(RecordDraft(type: .runStarted), operator: LedgerFixtures.alice, now: LedgerFixtures.t0)
        }
        #expect(error.kind == .notRegularFile)
    }

    @Test(.timeLimit(.minutes(1))) func fifoAtTheLedgerPathIsRefusedWithoutHanging() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("ledger.jsonl")
        #expect(mkfifo(path, 0o600) == 0)
        let readError = try #require(throws: LedgerError.self) { try Ledger(path: path).read() }
        #expect(readError.kind == .notRegularFile)
        let appendError = try #require(throws: LedgerError.self) {
            try Ledger(path: path).append(RecordDraft(type: .runStarted), operator: LedgerFixtures.alice, now: LedgerFixtures.t0)
        }
        #expect(appendError.kind == .notRegularFile)
    }

    @Test func oversizedLineIsAFaultNotAMemoryProblem() throws {
        let dir = TemporaryDirectory()
        let ledger = try LedgerFixtures.filledLedger(in: dir, count: 2)
        let handle = try #require(FileHandle(forWritingAtPath: ledger.path))
        handle.seekToEndOfFile()
        handle.write(Data(repeating: UInt8(ascii: "x"), count: 200_000))
        handle.write(Data("\n".utf8))
        try handle.close()
        let reading = try ledger.read()
        #expect(reading.fault?.line == 3)
        #expect(reading.fault?.problem.contains("longer than") == true)
    }

    @Test func storedTextKeepsItsBytesAndDisplaysSanitized() throws {
        let dir = TemporaryDirectory()
        let ledger = Ledger(path: dir.file("ledger.jsonl"))
        let hostile = "fine\u{1B}[2J\u{202E}evil\"\\\n😀 é"
        try ledger.append(RecordDraft(type: .cancelled, run: "r", reason: hostile), operator: LedgerFixtures.alice, now: LedgerFixtures.t0)
        let reading = try ledger.read()
        #expect(reading.isIntact)
        #expect(reading.records[0].draft.reason == hostile)
        #expect(DisplaySanitizer.sanitize(hostile) == "fine\\x1b[2J<U+202E>evil\"\\\\n😀 é")
    }
}

@Suite("JSON parser")
struct JSONParserTests {
    @Test(arguments: [
        #"{"a":[1,-2.5e3,true,false,null],"b":"x\u00e9\ud83d\ude00\n"}"#,
        #"[]"#, #"{}"#, #""\\\"\/""#, #"123456789012345678901234567890"#,
    ])
    func roundTripsThroughTheOneWriter(_ text: String) throws {
        let value = try JSONValue.parse(Array(text.utf8))
        let again = try JSONValue.parse(value.canonicalBytes)
        #expect(again == value)
    }

    @Test func keepsValues() throws {
        let value = try JSONValue.parse(Array(#" {"s":"\ud83d\ude00","n":-12,"d":1.50} "#.utf8))
        #expect(value["s"]?.stringValue == "😀")
        #expect(value["n"]?.intValue == -12)
        #expect(value.serialized(.canonical) == #"{"d":1.5,"n":-12,"s":"😀"}"#)
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "\"\\ud800\"", "\"a\u{01}\"", "{\"a\":1,\"a\":2}",
        "nul", "[1] x", "\"\\x\"", String(repeating: "[", count: 100) + String(repeating: "]", count: 100),
    ])
    func rejectsInvalid(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(Array(text.utf8)) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test(arguments: ["2026-11-29T04:57:22Z", "1970-01-01T00:00:00Z", "2000-02-29T23:59:59Z"])
    func rfc3339RoundTrips(_ text: String) throws {
        let date = try #require(RFC3339.parse(text))
        #expect(RFC3339.format(date) == text)
    }

    @Test(arguments: ["2026-02-30T00:00:00Z", "2026-11-29 04:57:22Z", "2026-11-29T04:57:22+01:00", "2026-13-01T00:00:00Z"])
    func rfc3339RejectsOtherForms(_ text: String) {
        #expect(RFC3339.parse(text) == nil)
    }
}

@Suite("Ledger format")
struct LedgerFormatTests {
    /// An independent verifier (Python's json and hashlib, written from the contract's words)
    /// agrees with wpk: each hash is SHA-256 of the canonical JSON of the record without `hash`,
    /// chained through `prev`.
    @Test func anIndependentVerifierAgrees() throws {
        let dir = TemporaryDirectory()
        let ledger = try LedgerFixtures.filledLedger(in: dir, count: 3)
        try ledger.append(
            RecordDraft(
                type: .approved, playbook: "pb", playbookDigest: LedgerFixtures.playbookDigest,
                planDigest: LedgerFixtures.planDigest, step: "migrate", reason: "é \u{1F600} \"q\" \\ \u{1}",
                approvalsRequired: 2, expires: LedgerFixtures.t0, consumes: [1, 2]),
            operator: LedgerFixtures.alice, now: LedgerFixtures.t0)
        let script = """
            import hashlib, json, sys
            prev = "sha256:" + "0" * 64
            for n, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
                record = json.loads(line)
                claimed = record.pop("hash")
                content = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                assert "sha256:" + hashlib.sha256(content.encode()).hexdigest() == claimed, n
                assert record["prev"] == prev and record["seq"] == n, n
                prev = claimed
            print("verified", n)
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, ledger.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text == "verified 4\n")
    }
}
