import Foundation
import PostgresNIO
import Synchronization
import WPKCore

#if canImport(Glibc)
    import Glibc
#endif

/// Wakes waiting runs and open review screens when a record is added: a connection of its own
/// `LISTEN`s on the insert trigger's channel and turns each notification into a byte on a pipe,
/// which callers `poll` beside their other descriptors. When the connection drops it reconnects
/// with backoff (and pokes once, since records may have been added meanwhile); until then
/// `isLive` is false and callers fall back to a slow poll of the ledger.
public final class PostgresChangeWatch: @unchecked Sendable {
    /// Readable when the ledger may have changed (nil only when no pipe could be made).
    public var descriptor: Int32? { readEnd >= 0 ? readEnd : nil }
    private let readEnd: Int32
    private let listener: Listener
    /// Whether `changed()` was called before.
    private let looked = Atomic<Bool>(false)

    /// Starts listening on `ledger`'s database in the background.
    public init(ledger: PostgresLedger) {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for fd in fds {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            }
        } else {
            fds = [-1, -1]
        }
        readEnd = fds[0]
        listener = Listener(url: ledger.url, password: ledger.password, writeEnd: fds[1])
        let listener = self.listener
        let thread = Thread { listener.run() }
        thread.name = "wpk-ledger-listen"
        thread.start()
    }

    deinit {
        listener.stop()
        if readEnd >= 0 { close(readEnd) }
    }

    /// Whether notifications arrive now (false while reconnecting).
    public var isLive: Bool { listener.state.withLock { $0.live } }

    /// Reads and discards pending wake-ups; returns whether there were any.
    @discardableResult
    public func drain() -> Bool {
        var any = false
        var buffer = [UInt8](repeating: 0, count: 256)
        while readEnd >= 0 {
            let n = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress!, $0.count) }
            if n > 0 {
                any = true
                continue
            }
            if n < 0 && errno == EINTR { continue }
            break
        }
        return any
    }

    /// The listening connection, owned by its thread (so the watch can be released while it runs).
    private final class Listener: @unchecked Sendable {
        let state = Mutex<(live: Bool, stopped: Bool, session: PostgresSession?)>((false, false, nil))
        let url: PostgresURL
        let password: String?
        let writeEnd: Int32

        init(url: PostgresURL, password: String?, writeEnd: Int32) {
            self.url = url
            self.password = password
            self.writeEnd = writeEnd
        }

        deinit {
            if writeEnd >= 0 { close(writeEnd) }
        }

        func stop() {
            let session = state.withLock { state -> PostgresSession? in
                state.stopped = true
                defer { state.session = nil }
                return state.session
            }
            _ = try? session?.connection.close().wait()
        }

        func poke() {
            var byte: UInt8 = 1
            _ = write(writeEnd, &byte, 1)
        }

        /// Connect, listen, wait for the connection to end; again, with backoff, until stopped.
        func run() {
            var delay = 0.1
            while !state.withLock({ $0.stopped }) {
                do {
                    let session = try PostgresSession.connect(url, password: password)
                    let writeEnd = self.writeEnd
                    // A notification's arrival is all that matters: the ledger is re-read and re-verified.
                    session.connection.addListener(channel: PostgresLedgerSchema.notifyChannel) { _, _ in
                        var byte: UInt8 = 1
                        _ = write(writeEnd, &byte, 1)
                    }
                    // Queued after the LISTEN, so its answer means the LISTEN is in place.
                    try session.query("SELECT 1", "start listening")
                    let keep = state.withLock { state -> Bool in
                        guard !state.stopped else { return false }
                        state.session = session
                        state.live = true
                        return true
                    }
                    guard keep else { return }
                    delay = 0.1
                    // Records may have been added while no one listened.
                    poke()
                    try? session.connection.closeFuture.wait()
                    state.withLock {
                        $0.live = false
                        $0.session = nil
                    }
                    poke()
                } catch {
                    Thread.sleep(forTimeInterval: delay)
                    delay = min(delay * 2, 5)
                }
            }
        }
    }
}

extension PostgresChangeWatch: LedgerChangeWatch {
    /// A notification arrived, or this is the first look, or notifications cannot arrive now
    /// (the slow poll's turn: the ledger is read again).
    public func changed() -> Bool {
        let woken = drain()
        let first = !looked.exchange(true, ordering: .relaxed)
        return woken || first || !isLive
    }
}
