import Foundation
import Testing

@testable import WPKCore

/// An instant from ISO 8601 UTC text, for readable expectations.
private func utc(_ text: String) -> Date {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.date(from: text)!
}

/// The fires of `schedule` after `start`, `count` of them, as UTC text.
private func fires(_ schedule: CronSchedule, after start: String, count: Int) -> [String] {
    var out: [String] = []
    var at = utc(start)
    let formatter = ISO8601DateFormatter()
    for _ in 0..<count {
        guard let next = schedule.next(after: at) else { break }
        out.append(formatter.string(from: next))
        at = next
    }
    return out
}

@Suite struct CronScheduleTests {
    @Test func everyDayInUTC() throws {
        let schedule = try CronSchedule("30 4 * * *")
        #expect(fires(schedule, after: "2026-05-01T04:30:00Z", count: 2) == ["2026-05-02T04:30:00Z", "2026-05-03T04:30:00Z"])
        #expect(fires(schedule, after: "2026-05-01T04:29:59Z", count: 1) == ["2026-05-01T04:30:00Z"])
    }

    /// Europe/Berlin jumps from 02:00 CET to 03:00 CEST at 01:00 UTC on 29 March 2026: 02:30 does
    /// not exist that day, and the schedule fires once, at the jump.
    @Test func springForwardFiresOnceAtTheJump() throws {
        let schedule = try CronSchedule("30 2 * * *", timeZone: "Europe/Berlin")
        #expect(
            fires(schedule, after: "2026-03-28T12:00:00Z", count: 3)
                == ["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"])
        let newYork = try CronSchedule("30 2 * * *", timeZone: "America/New_York")
        #expect(
            fires(newYork, after: "2026-03-07T12:00:00Z", count: 3)
                == ["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"])
    }

    /// On 25 October 2026 Berlin's 02:00-03:00 happens twice: a 02:30 schedule fires at the first only.
    @Test func fallBackFiresOnceAtTheFirstOccurrence() throws {
        let schedule = try CronSchedule("30 2 * * *", timeZone: "Europe/Berlin")
        #expect(fires(schedule, after: "2026-10-24T12:00:00Z", count: 2) == ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"])
        // Starting between the two occurrences does not fire the second.
        #expect(fires(schedule, after: "2026-10-25T00:45:00Z", count: 1) == ["2026-10-26T01:30:00Z"])
        let newYork = try CronSchedule("30 1 * * *", timeZone: "America/New_York")
        #expect(fires(newYork, after: "2026-10-31T12:00:00Z", count: 2) == ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"])
    }

    /// A schedule over every hour keeps its rhythm in real time through both changes.
    @Test func everyHourSchedulesKeepRealTimeRhythm() throws {
        let schedule = try CronSchedule("*/30 * * * *", timeZone: "Europe/Berlin")
        #expect(
            fires(schedule, after: "2026-10-25T00:15:00Z", count: 4)
                == ["2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z", "2026-10-25T02:00:00Z"])
        #expect(
            fires(schedule, after: "2026-03-29T00:15:00Z", count: 3)
                == ["2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"])
    }

    @Test func dayFieldsMacrosAndNames() throws {
        // Day of month and day of week both restricted: either matches (13 November 2026 is a Friday).
        let either = try CronSchedule("0 0 13 * FRI")
        #expect(
            fires(either, after: "2026-11-01T00:00:00Z", count: 3) == [
                "2026-11-06T00:00:00Z", "2026-11-13T00:00:00Z", "2026-11-20T00:00:00Z",
            ])
        let leap = try CronSchedule("0 12 29 2 *")
        #expect(fires(leap, after: "2026-03-01T00:00:00Z", count: 1) == ["2028-02-29T12:00:00Z"])
        let weekly = try CronSchedule("@weekly", timeZone: "America/New_York")
        #expect(fires(weekly, after: "2026-07-01T00:00:00Z", count: 1) == ["2026-07-05T04:00:00Z"])
        #expect(throws: CronScheduleError.self) { try CronSchedule("0 25 * * *") }
        #expect(throws: CronScheduleError.self) { try CronSchedule("0 1 * * *", timeZone: "CET") }
    }

    /// The tracker with an injected clock: on time fires, late-but-close fires, anything older is
    /// reported as missed and never caught up.
    @Test func trackerDoesNotCatchUp() throws {
        let schedule = try CronSchedule("0 * * * *")
        var tracker = ScheduleTracker(schedule: schedule, start: utc("2026-05-01T10:15:00Z"))
        #expect(tracker.poll(now: utc("2026-05-01T10:59:00Z")) == .wait(until: utc("2026-05-01T11:00:00Z")))
        #expect(tracker.poll(now: utc("2026-05-01T11:00:20Z")) == .fire(scheduled: utc("2026-05-01T11:00:00Z")))
        #expect(tracker.poll(now: utc("2026-05-01T11:00:21Z")) == .wait(until: utc("2026-05-01T12:00:00Z")))
        // Asleep from 11:00 to 14:30: 12:00, 13:00 and 14:00 are missed, 15:00 is next.
        #expect(
            tracker.poll(now: utc("2026-05-01T14:30:00Z"))
                == .missed(first: utc("2026-05-01T12:00:00Z"), last: utc("2026-05-01T14:00:00Z"), count: 3))
        #expect(tracker.poll(now: utc("2026-05-01T14:30:01Z")) == .wait(until: utc("2026-05-01T15:00:00Z")))
        // A fire that passed before the tracker started is not run.
        var late = ScheduleTracker(schedule: schedule, start: utc("2026-05-01T11:00:30Z"))
        #expect(late.poll(now: utc("2026-05-01T11:00:31Z")) == .wait(until: utc("2026-05-01T12:00:00Z")))
    }

    /// Fires between how far an earlier server followed the schedule and a new start are reported
    /// as missed (never run); none when it was followed up to the start or past it.
    @Test func trackerReportsFiresMissedWhileDown() throws {
        let schedule = try CronSchedule("0 * * * *")
        let tracker = ScheduleTracker(schedule: schedule, start: utc("2026-05-01T14:30:00Z"), followedUntil: utc("2026-05-01T11:00:00Z"))
        let missed = try #require(tracker.missedBeforeStart)
        #expect(missed.first == utc("2026-05-01T12:00:00Z") && missed.last == utc("2026-05-01T14:00:00Z") && missed.count == 3)
        #expect(tracker.next == utc("2026-05-01T15:00:00Z"))
        for followed in ["2026-05-01T14:00:00Z", "2026-05-01T14:30:00Z", "2026-05-01T16:00:00Z"] {
            #expect(
                ScheduleTracker(schedule: schedule, start: utc("2026-05-01T14:30:00Z"), followedUntil: utc(followed)).missedBeforeStart
                    == nil)
        }
        #expect(schedule.fires(after: utc("2026-05-01T11:00:00Z"), through: utc("2026-05-02T11:00:00Z"), limit: 5)?.count == 5)
    }

    /// Across the Berlin spring-forward day, polled minute by minute, 02:30 fires exactly once.
    @Test func trackerAcrossSpringForwardMinuteByMinute() throws {
        let schedule = try CronSchedule("30 2 * * *", timeZone: "Europe/Berlin")
        var tracker = ScheduleTracker(schedule: schedule, start: utc("2026-03-28T22:00:00Z"))
        var fired: [Date] = []
        var now = utc("2026-03-28T22:00:00Z")
        while now < utc("2026-03-29T22:00:00Z") {
            if case .fire(let at) = tracker.poll(now: now) { fired.append(at) }
            now += 60
        }
        #expect(fired == [utc("2026-03-29T01:00:00Z")])
    }
}

@Suite struct WebhookSignatureTests {
    let key = Array("topsecret".utf8)
    let body = Array(#"{"deployment":"web"}"#.utf8)
    let sent = Date(timeIntervalSince1970: 1_767_225_600)
    /// From Python's hmac module, independently of swift-crypto.
    let expected = "sha256=e693867a0913d4a803f0e3b85b0ab6de23d94e207391590b0b79199e8e1e7d14"

    @Test func rightWrongStale() {
        #expect(WebhookSignature.header(key: key, timestamp: 1_767_225_600, body: body) == expected)
        let ok = WebhookSignature.verify(key: key, timestampHeader: "1767225600", signatureHeader: expected, body: body, now: sent + 299)
        #expect((try? ok.get()) != nil)
        #expect(
            WebhookSignature.verify(
                key: key, timestampHeader: "1767225600",
                signatureHeader: expected.uppercased().replacingOccurrences(of: "SHA256=", with: "sha256="), body: body, now: sent
            ).isSuccess)
        // Another body, key or timestamp under the same signature.
        for (k, t, b) in [(Array("other".utf8), "1767225600", body), (key, "1767225601", body), (key, "1767225600", body + [0x20])] {
            #expect(
                WebhookSignature.verify(key: k, timestampHeader: t, signatureHeader: expected, body: b, now: sent)
                    == .failure(.unauthenticated))
        }
        #expect(
            WebhookSignature.verify(key: key, timestampHeader: "1767225600", signatureHeader: expected, body: body, now: sent + 301)
                == .failure(.stale))
        #expect(
            WebhookSignature.verify(key: key, timestampHeader: "1767225600", signatureHeader: expected, body: body, now: sent - 301)
                == .failure(.stale))
        for (t, s) in [
            (nil, expected), ("1767225600", nil), ("-1", expected), ("1767225600", "sha1=" + expected.dropFirst(7)),
            ("1767225600", String(expected.dropLast())), ("1767225600", String(expected.dropLast()) + "g"), ("1e9", expected),
        ] as [(String?, String?)] {
            #expect(
                WebhookSignature.verify(key: key, timestampHeader: t, signatureHeader: s, body: body, now: sent)
                    == .failure(.unauthenticated))
        }
        #expect(
            WebhookSignature.verify(key: [], timestampHeader: "1767225600", signatureHeader: expected, body: body, now: sent)
                == .failure(.unauthenticated))
    }

    @Test func replayMemoryRefusesRepeatsAndStaysBounded() {
        let memory = ReplayMemory(capacity: 3)
        let a: [UInt8] = Array(repeating: 1, count: 32)
        let b: [UInt8] = Array(repeating: 2, count: 32)
        #expect(memory.admit(a, now: sent).isSuccess)
        #expect(memory.admit(a, now: sent + 1).refusal == .replayed)
        #expect(memory.admit(b, now: sent + 2).isSuccess)
        #expect(memory.admit([3], now: sent + 3).isSuccess)
        #expect(memory.admit([4], now: sent + 4).refusal == .replayMemoryFull)
        // Past twice the window the old entries are forgotten (their requests are stale by then).
        #expect(memory.admit([4], now: sent + 2 * WebhookSignature.window + 10).isSuccess)
        #expect(memory.count == 1)
    }
}

extension Result {
    var isSuccess: Bool { if case .success = self { true } else { false } }
    var refusal: Failure? { if case .failure(let failure) = self { failure } else { nil } }
}

@Suite struct TriggerInputTests {
    private func trigger(_ yaml: String) throws -> Playbook.Trigger {
        let document = try YAMLLoader.load(Array(yaml.utf8))
        let playbook = Playbook(root: document.root)
        return try #require(playbook.triggers.first)
    }

    private let webhook = """
        apiVersion: wpk/v1
        kind: WorkflowPackage
        metadata: {name: t, version: 1.0.0}
        spec:
          triggers:
            - kind: webhook
              path: /hooks/t
              inputs: {deployment: "${{ event.body.target.name }}", replicas: "${{ event.body.n }}", first: "pod-${{ event.body.pods.0 }}", flag: "${{ event.body.dry }}"}
        """

    @Test func webhookBodyPaths() throws {
        let body = try JSONValue.parse(Array(#"{"target": {"name": "web"}, "n": 12, "pods": ["a1", "b2"], "dry": true}"#.utf8))
        let values = try TriggerInputs.values(for: try trigger(webhook), event: .webhook(body: body)).get()
        #expect(values == ["deployment": "web", "replicas": "12", "first": "pod-a1", "flag": "true"])
    }

    @Test func webhookMissingOrNonScalarValues() throws {
        let t = try trigger(webhook)
        for (json, reason) in [
            (#"{"target": {}, "n": 1, "pods": ["a"], "dry": false}"#, "input \"deployment\": the body has no event.body.target.name"),
            (
                #"{"target": {"name": {"x": 1}}, "n": 1, "pods": ["a"], "dry": false}"#,
                "input \"deployment\": event.body.target.name is not a string, number or boolean"
            ),
            (#"{"target": {"name": "w"}, "n": null, "pods": ["a"], "dry": false}"#, "input \"replicas\": event.body.n is null"),
            (#"{"target": {"name": "w"}, "n": 1, "pods": [], "dry": false}"#, "input \"first\": the body has no event.body.pods.0"),
            (#"[1]"#, "input \"deployment\": the body has no event.body.target"),
        ] {
            let result = TriggerInputs.values(for: t, event: .webhook(body: try JSONValue.parse(Array(json.utf8))))
            #expect(result == .failure(TriggerInputError(message: reason)))
        }
    }

    @Test func alertLabelsAndAnnotations() throws {
        let t = try trigger(
            """
            apiVersion: wpk/v1
            kind: WorkflowPackage
            metadata: {name: t, version: 1.0.0}
            spec:
              triggers:
                - {kind: event, source: alertmanager, filter: {alertname: Down}, inputs: {deployment: "${{ event.labels.deployment }}", why: "${{ event.annotations.summary }}"}}
            """)
        #expect(t.filter == ["alertname": "Down"])
        let values = try TriggerInputs.values(for: t, event: .alert(labels: ["deployment": "web"], annotations: ["summary": "it broke"]))
            .get()
        #expect(values == ["deployment": "web", "why": "it broke"])
        #expect(
            TriggerInputs.values(for: t, event: .alert(labels: [:], annotations: [:]))
                == .failure(TriggerInputError(message: "input \"deployment\": the alert has no label deployment")))
    }
}

@Suite struct AlertmanagerPayloadTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
        "Fixtures/alertmanager")

    private func fixture(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: Self.fixtures.appendingPathComponent(name)))
    }

    @Test func firingGroupWithSeveralAlerts() throws {
        let payload = try AlertmanagerPayload(json: try fixture("grouped.json"))
        #expect(payload.status == "firing")
        #expect(payload.alerts.count == 3)
        #expect(payload.alerts.map(\.isFiring) == [true, true, false])
        #expect(payload.alerts[0].fingerprint == "5f8c0b7e2a1d3c4b")
        #expect(payload.alerts[0].matches(["alertname": "KubePodCrashLooping", "namespace": "checkout"]))
        #expect(!payload.alerts[0].matches(["alertname": "KubePodCrashLooping", "namespace": "payments"]))
        #expect(payload.alerts[1].labels["deployment"] == "cart")
    }

    @Test func resolvedAndHostile() throws {
        let resolved = try AlertmanagerPayload(json: try fixture("resolved.json"))
        #expect(resolved.alerts.allSatisfy { !$0.isFiring })
        let hostile = try AlertmanagerPayload(json: try fixture("hostile-labels.json"))
        #expect(hostile.alerts[0].labels["deployment"] == "web; rm -rf / #\u{1B}[2J")
        #expect(hostile.alerts[0].labels["pod"] == "-n=kube-system $(reboot)`id`")
    }

    @Test func refusedPayloads() throws {
        for (json, reason) in [
            (#"{"version": "3", "status": "firing", "alerts": []}"#, "unsupported payload version"),
            (#"{"version": "4", "status": "firing"}"#, "\"alerts\" is missing"),
            (#"{"version": "4", "status": "burning", "alerts": []}"#, "status must be"),
            (#"{"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {}, "fingerprint": "xyz"}]}"#, "fingerprint"),
            (
                #"{"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {"a": 1}, "fingerprint": "ab"}]}"#,
                "not a string"
            ),
            (#"{"version": "4", "status": "firing", "alerts": [1]}"#, "alerts[0] is not an object"),
            (#"{"version": "4", "#, "malformed JSON"),
            ("[]", "not a JSON object"),
        ] {
            #expect(throws: AlertmanagerPayloadError.self) { try AlertmanagerPayload(json: Array(json.utf8)) }
            do {
                _ = try AlertmanagerPayload(json: Array(json.utf8))
            } catch {
                #expect(error.message.contains(reason), "\(error.message)")
            }
        }
        let tooMany =
            #"{"version": "4", "status": "firing", "alerts": ["#
            + Array(repeating: #"{"status": "firing", "labels": {}, "fingerprint": "ab"}"#, count: 1_001).joined(separator: ",") + "]}"
        #expect(throws: AlertmanagerPayloadError(message: "1001 alerts in one payload; the limit is 1000")) {
            try AlertmanagerPayload(json: Array(tooMany.utf8))
        }
    }
}
