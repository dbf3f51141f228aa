import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

#if canImport(Glibc)
    /// glibc's `pthread_getattr_np` (a GNU extension the Glibc module does not export without
    /// `_GNU_SOURCE`); pointer and integer arguments pass the same way in Swift and C on Linux.
    @_silgen_name("pthread_getattr_np")
    private func threadAttributes(_ thread: pthread_t, _ attributes: UnsafeMutablePointer<pthread_attr_t>) -> Int32
#endif

/// Knows how much of the current thread's stack is left, so recursive evaluation stops with a
/// violation before a deep or self-referencing schema overflows a small (e.g. concurrency
/// pool) thread stack, whatever the build's frame sizes are.
struct StackGuard {
    /// Stack kept free for reporting and the caller.
    static let reserve: UInt = 256 * 1024
    /// The lowest stack address evaluation may reach.
    let floor: UInt

    init() {
        let here = StackGuard.currentAddress()
        var low: UInt?
        #if canImport(Glibc)
            var attributes = pthread_attr_t()
            if threadAttributes(pthread_self(), &attributes) == 0 {
                var base: UnsafeMutableRawPointer?
                var size = 0
                if pthread_attr_getstack(&attributes, &base, &size) == 0, let base { low = UInt(bitPattern: base) }
                pthread_attr_destroy(&attributes)
            }
        #elseif canImport(Darwin)
            let top = UInt(bitPattern: pthread_get_stackaddr_np(pthread_self()))
            low = top - UInt(pthread_get_stacksize_np(pthread_self()))
        #endif
        // Unknown stack: assume the smallest common thread stack (512 KiB).
        let bottom = low ?? (here > 512 * 1024 ? here - 512 * 1024 : 0)
        floor = bottom + StackGuard.reserve
    }

    /// The main thread's guard, computed once: glibc finds the main stack by reading
    /// /proc/self/maps, far too slow to repeat for every document.
    private static let mainThread = StackGuard()

    /// The guard for the calling thread.
    static func current() -> StackGuard {
        #if canImport(Glibc)
            // Each thread's floor, found once: asking glibc (or even whether this is the main thread)
            // costs system calls, and a validation run asks once per document.
            if let known = pthread_getspecific(floorKey) { return StackGuard(floor: UInt(bitPattern: known)) }
            let computed = Thread.isMainThread ? mainThread : StackGuard()
            pthread_setspecific(floorKey, UnsafeRawPointer(bitPattern: computed.floor))
            return computed
        #else
            return StackGuard()
        #endif
    }

    private init(floor: UInt) {
        self.floor = floor
    }

    #if canImport(Glibc)
        /// The thread-specific slot of each thread's floor (a plain number: nothing to free).
        private static let floorKey: pthread_key_t = {
            var key = pthread_key_t()
            pthread_key_create(&key, nil)
            return key
        }()
    #endif

    /// True when less than the reserve is left below the current frame.
    var isExhausted: Bool { StackGuard.currentAddress() < floor }

    @inline(never)
    static func currentAddress() -> UInt {
        var marker: UInt8 = 0
        return withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
    }
}
