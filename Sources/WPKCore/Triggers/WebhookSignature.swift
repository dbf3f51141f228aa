import Crypto
import Foundation
import Synchronization

/// The signature of a webhook request: `X-WPK-Signature: sha256=<hex>` is the HMAC-SHA256 of
/// `"<timestamp>.<body>"` under the trigger's key, `X-WPK-Timestamp` the Unix seconds it was sent.
public enum WebhookSignature {
    /// How far a request's timestamp may lie from the receiver's clock, either way.
    public static let window: TimeInterval = 300

    /// Why a request is refused.
    public enum Refusal: Error, Sendable, Equatable {
        /// Missing or malformed headers, or a signature that does not match (answered 401, no detail).
        case unauthenticated
        /// A correct signature whose timestamp is over `window` away from now (401; logged as stale).
        case stale
        /// A correct signature seen before within the window (409).
        case replayed
        /// The replay memory is full of live entries: refused rather than forgetting one (503).
        case replayMemoryFull
    }

    /// The header value for `body` sent at `timestamp` under `key` (what a sender computes).
    public static func header(key: [UInt8], timestamp: Int, body: [UInt8]) -> String {
        let code = HMAC<SHA256>.authenticationCode(
            for: signedBytes(timestamp: String(timestamp), body: body), using: SymmetricKey(data: key))
        return "sha256=" + ContentDigest.hex(code)
    }

    /// Checks the headers of one request; on success, the signature's bytes (the replay key).
    /// The comparison runs in constant time (swift-crypto's authentication-code check).
    public static func verify(
        key: [UInt8], timestampHeader: String?, signatureHeader: String?, body: [UInt8],
        now: Date
    ) -> Result<[UInt8], Refusal> {
        guard let timestampText = timestampHeader, (1...12).contains(timestampText.utf8.count),
            timestampText.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let timestamp = Int(timestampText),
            let signatureText = signatureHeader, signatureText.utf8.count == 71, signatureText.hasPrefix("sha256="),
            let signature = hexBytes(signatureText.utf8.dropFirst(7)), !key.isEmpty
        else {
            return .failure(.unauthenticated)
        }
        let valid = HMAC<SHA256>.isValidAuthenticationCode(
            signature, authenticating: signedBytes(timestamp: timestampText, body: body),
            using: SymmetricKey(data: key))
        guard valid else { return .failure(.unauthenticated) }
        guard abs(now.timeIntervalSince1970 - Double(timestamp)) <= window else { return .failure(.stale) }
        return .success(signature)
    }

    private static func signedBytes(timestamp: String, body: [UInt8]) -> [UInt8] {
        var bytes = Array(timestamp.utf8)
        bytes.reserveCapacity(bytes.count + 1 + body.count)
        bytes.append(UInt8(ascii: "."))
        bytes.append(contentsOf: body)
        return bytes
    }

    /// 32 bytes from 64 hex digits (either case), or nil.
    static func hexBytes(_ text: Substring.UTF8View) -> [UInt8]? {
        guard text.count == 64 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(32)
        var iterator = text.makeIterator()
        while let high = iterator.next() {
            guard let low = iterator.next(), let h = nibble(high), let l = nibble(low) else { return nil }
            out.append(h << 4 | l)
        }
        return out
    }
}

/// Signatures already accepted, remembered while their timestamps are inside the window, so a
/// captured request cannot be sent again. Bounded: when full of live entries it refuses.
public final class ReplayMemory: Sendable {
    private struct State {
        var seen: Set<[UInt8]> = []
        /// Insertion order with each entry's expiry, to forget the oldest first.
        var order: [(expires: Date, signature: [UInt8])] = []
        var head = 0
    }

    private let state = Mutex(State())
    /// The most signatures remembered at once.
    public let capacity: Int

    /// A memory of at most `capacity` signatures (about 100 bytes each).
    public init(capacity: Int = 200_000) {
        self.capacity = capacity
    }

    /// Records `signature` seen at `now`; `.replayed` when it was seen before and is still live.
    public func admit(_ signature: [UInt8], now: Date) -> Result<Void, WebhookSignature.Refusal> {
        state.withLock { state in
            // Forget entries whose requests would be refused as stale anyway.
            while state.head < state.order.count, state.order[state.head].expires < now {
                state.seen.remove(state.order[state.head].signature)
                state.head += 1
            }
            if state.head > 4_096 && state.head * 2 > state.order.count {
                state.order.removeFirst(state.head)
                state.head = 0
            }
            if state.seen.contains(signature) { return .failure(.replayed) }
            guard state.seen.count < capacity else { return .failure(.replayMemoryFull) }
            state.seen.insert(signature)
            // Every request accepted now has a timestamp within the window of now, so it is
            // refused as stale once `now + 2 × window` has passed: forgetting it then is safe.
            state.order.append((now.addingTimeInterval(2 * WebhookSignature.window), signature))
            return .success(())
        }
    }

    /// How many signatures are remembered.
    public var count: Int { state.withLock { $0.seen.count } }
}
