internal import CProcess
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A latch the edge trips (from a signal handler's queue) to stop a run: the core polls its
/// descriptor next to the step's output, so it never needs to know about signals.
public final class RunInterrupt: @unchecked Sendable {
    private let lock = NSLock()
    private var reason: String?
    private let readEnd: Int32
    private let writeEnd: Int32

    /// A latch that has not been tripped.
    public init() {
        var ends: [Int32] = [-1, -1]
        if wpk_pipe2(&ends, O_CLOEXEC | O_NONBLOCK) != 0 { ends = [-1, -1] }
        readEnd = ends[0]
        writeEnd = ends[1]
    }

    deinit {
        if readEnd >= 0 { close(readEnd) }
        if writeEnd >= 0 { close(writeEnd) }
    }

    /// Trips the latch; the first reason is kept (a second Ctrl-C does not rename the first).
    public func trigger(_ why: String) {
        lock.lock()
        if reason == nil { reason = why }
        lock.unlock()
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Why the latch was tripped, nil while it has not been.
    public var triggered: String? {
        lock.lock()
        defer { lock.unlock() }
        return reason
    }

    /// Readable once tripped (it stays readable: nothing drains it).
    public var descriptor: Int32 { readEnd }
}
