internal import CNCurses
import Foundation
import WPKReview

/// Why the terminal could not be set up.
public struct TerminalError: Error, CustomStringConvertible {
    public var description: String
}

/// The write end of the self-pipe that signal handlers poke; a C handler can only reach a global.
nonisolated(unsafe) private var signalPipeWrite: Int32 = -1
/// The handlers of fatal signals before ours, by signal number, to hand a crash on to.
nonisolated(unsafe) private var previousFatalActions: [sigaction] = Array(repeating: sigaction(), count: 65)
/// Bytes written to the self-pipe: a resize, or a request to leave.
private let winchByte: UInt8 = 0x57
private let terminateByte: UInt8 = 0x54

/// The ncursesw painter: draws `Screen`s on `/dev/tty` and turns keys, resizes and signals into
/// `DeviceInput`. The only type in the project that touches curses.
///
/// Idle costs nothing: it blocks in `poll` on the terminal and a signal self-pipe, with no timer
/// unless the backend asks for one (ledger polling). SIGWINCH, SIGTERM, SIGHUP and SIGINT write to
/// a self-pipe that `poll` watches, so a resize is never lost and a termination ends the loop
/// normally, after which `restore()` runs `endwin`. A fatal signal (a crash) runs `endwin` from its
/// handler, best effort, before the default action, so even then the shell gets its terminal back.
public final class CursesTerminal: TerminalDevice {
    private var screenPointer: OpaquePointer?
    private var ttyFile: UnsafeMutablePointer<FILE>?
    private let inputFD: Int32
    private var signalPipe: [Int32] = [-1, -1]
    private var previous: Screen?
    private var restored = false
    /// Whether colours are used (a colour terminal and `NO_COLOR` unset).
    public let usesColor: Bool
    /// Whether the locale can show UTF-8; when not, the UI must draw ASCII only.
    public let localeIsUTF8: Bool

    /// Sets up curses on `/dev/tty` (or another terminal device, for benchmarks), leaving standard
    /// output free for the exit summary.
    public init(terminalPath: String = "/dev/tty", environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        setlocale(LC_ALL, "")
        localeIsUTF8 = String(cString: shim_codeset()).uppercased().replacingOccurrences(of: "-", with: "") == "UTF8"
        guard let tty = fopen(terminalPath, "r+") else {
            throw TerminalError(description: "needs a terminal: cannot open \(terminalPath)")
        }
        ttyFile = tty
        inputFD = fileno(tty)
        guard let screen = newterm(nil, tty, tty) else {
            fclose(tty)
            ttyFile = nil
            throw TerminalError(description: "cannot use terminal type \"\(environment["TERM"] ?? "")\"")
        }
        screenPointer = screen
        set_term(screen)
        // A terminal that cannot address the cursor (TERM=dumb) would get a garbled screen.
        let cursorAddress = tigetstr("cup")
        if cursorAddress == nil || Int(bitPattern: cursorAddress) == -1 {
            endwin()
            delscreen(screen)
            fclose(tty)
            screenPointer = nil
            ttyFile = nil
            throw TerminalError(
                description:
                    "terminal type \"\(environment["TERM"] ?? "")\" cannot move the cursor; set TERM to your terminal (e.g. xterm-256color)"
            )
        }
        let window = shim_stdscr()
        raw()  // Ctrl-C arrives as a key, so it quits through the same path as q.
        noecho()
        nonl()
        keypad(window, true)
        intrflush(window, false)
        set_escdelay(25)
        // No mousemask call: the mouse stays the terminal's, for selecting and copying text.
        let colorWanted = (environment["NO_COLOR"] ?? "").isEmpty
        if colorWanted && has_colors() {
            start_color()
            use_default_colors()
            usesColor = true
            for (i, color) in Self.colorPairs.enumerated() {
                init_pair(Int16(i + 1), color, -1)
            }
        } else {
            usesColor = false
        }
        installSignalHandlers()
    }

    deinit { restore() }

    /// Foreground colours for pairs 1... (background stays the terminal's own: no palette changes).
    private static let colorPairs: [Int16] = [
        Int16(COLOR_RED), Int16(COLOR_YELLOW), Int16(COLOR_CYAN), Int16(COLOR_GREEN),
        Int16(COLOR_MAGENTA), Int16(COLOR_BLUE),
    ]
    private enum Pair: Int16 {
        case none = 0
        case red, yellow, cyan, green, magenta, blue
    }

    private func installSignalHandlers() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        signalPipe = fds
        _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
        _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        signalPipeWrite = fds[1]
        for signal in [SIGTERM, SIGHUP, SIGINT] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in
                var byte = terminateByte
                _ = write(signalPipeWrite, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(signal, &action, nil)
        }
        // SIGWINCH is ours too, and the resize is done with resizeterm: ncurses installs its own
        // handler only when the inherited disposition is the default, and a resize landing between
        // reading input and blocking in poll would not interrupt poll, whereas the pipe always wakes it.
        var winch = sigaction()
        winch.__sigaction_handler.sa_handler = { _ in
            var byte = winchByte
            _ = write(signalPipeWrite, &byte, 1)
        }
        sigemptyset(&winch.sa_mask)
        winch.sa_flags = SA_RESTART
        sigaction(SIGWINCH, &winch, nil)
        // A parent may have blocked these (blocked masks survive exec); the UI needs them delivered.
        var wanted = sigset_t()
        sigemptyset(&wanted)
        for signal in [SIGTERM, SIGHUP, SIGINT, SIGWINCH] { sigaddset(&wanted, signal) }
        pthread_sigmask(SIG_UNBLOCK, &wanted, nil)
        // A crash must not leave the terminal raw: endwin (not async-signal-safe, but the process
        // is dying anyway), then the handler that was there before (Swift's backtracer), so the
        // crash is still reported.
        for signal in Self.fatalSignals {
            var fatal = sigaction()
            fatal.__sigaction_handler.sa_handler = { signal in
                endwin()
                sigaction(signal, &previousFatalActions[Int(signal)], nil)
                raise(signal)  // delivered to the previous handler once this one returns
            }
            sigemptyset(&fatal.sa_mask)
            fatal.sa_flags = 0
            sigaction(signal, &fatal, &previousFatalActions[Int(signal)])
        }
        // A dropped SSH connection must not kill us with SIGPIPE while writing the last frame.
        Foundation.signal(SIGPIPE, SIG_IGN)
    }

    /// Signals that end the process abnormally (Swift traps are SIGILL or SIGTRAP).
    private static let fatalSignals = [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT, SIGFPE]

    /// The terminal's size now.
    public var size: Size {
        let window = shim_stdscr()
        return Size(width: Int(getmaxx(window)), height: Int(getmaxy(window)))
    }

    /// Waits for a key, a resize, a signal or the timeout.
    /// A descriptor that becomes readable when something outside changed (the ledger's
    /// inotify watch): the wait ends as a timeout, so the runner looks at once.
    public var wakeDescriptor: Int32?

    public func nextInput(timeout: Double?) -> DeviceInput {
        let window = shim_stdscr()
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        while true {
            nodelay(window, true)
            var character: wint_t = 0
            let result = wget_wch(window, &character)
            if result == KEY_CODE_YES {
                // resizeterm queues this after a resize the pipe already reported: nothing new.
                if Int32(character) == shim_key_resize() { continue }
                if let key = Self.functionKey(Int32(character)) { return .key(key) }
                continue
            } else if result == OK {
                if let key = Self.characterKey(character) { return .key(key) }
                continue
            }
            var fds = [
                pollfd(fd: inputFD, events: Int16(POLLIN), revents: 0),
                pollfd(fd: signalPipe[0], events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeDescriptor ?? -1, events: Int16(POLLIN), revents: 0),
            ]
            let wait = deadline.map { max(0, Int32($0.timeIntervalSinceNow * 1000)) } ?? -1
            let ready = poll(&fds, 3, wait)
            if ready < 0 {
                if errno == EINTR { continue }  // a signal: its byte is in the pipe
                return .closed
            }
            if ready == 0 || fds[2].revents & Int16(POLLIN) != 0 { return .timeout }
            if fds[1].revents & Int16(POLLIN) != 0 {
                var bytes = [UInt8](repeating: 0, count: 64)
                let count = read(signalPipe[0], &bytes, bytes.count)
                if count > 0, bytes[0..<count].contains(terminateByte) { return .terminate }
                if count > 0, bytes[0..<count].contains(winchByte), let resized = resizeFromTerminal() { return .resize(resized) }
                continue
            }
            if fds[0].revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 { return .closed }
            // Readable with nothing to read is end of input: the terminal went away.
            var available: Int32 = 0
            if ioctl(inputFD, UInt(FIONREAD), &available) == 0, available == 0 { return .closed }
        }
    }

    /// Reads the terminal's new size and tells ncurses; nil when the size cannot be read.
    private func resizeFromTerminal() -> Size? {
        var window = winsize()
        guard ioctl(inputFD, UInt(TIOCGWINSZ), &window) == 0, window.ws_row > 0, window.ws_col > 0 else { return nil }
        resizeterm(Int32(window.ws_row), Int32(window.ws_col))
        previous = nil
        return size
    }

    private static func functionKey(_ code: Int32) -> Key? {
        switch code {
        case KEY_UP: .up
        case KEY_DOWN: .down
        case KEY_LEFT: .left
        case KEY_RIGHT: .right
        case KEY_PPAGE: .pageUp
        case KEY_NPAGE: .pageDown
        case KEY_HOME: .home
        case KEY_END: .end
        case KEY_ENTER: .enter
        case KEY_BACKSPACE: .backspace
        case KEY_BTAB: .backTab
        default: nil
        }
    }

    private static func characterKey(_ value: wint_t) -> Key? {
        switch value {
        case 0x0D, 0x0A: return .enter
        case 0x1B: return .escape
        case 0x7F, 0x08: return .backspace
        case 0x09: return .tab
        case 0x03: return .interrupt
        case 0x00..<0x20: return nil
        default:
            guard let scalar = Unicode.Scalar(UInt32(value)) else { return nil }
            return .character(Character(scalar))
        }
    }

    /// Paints the cells that changed since the last frame, then parks the cursor.
    public func draw(_ screen: Screen) {
        let window = shim_stdscr()
        let full = previous?.size != screen.size
        if full { werase(window) }
        var wide = [wchar_t](repeating: 0, count: 6)
        var cell = cchar_t()
        for row in 0..<screen.size.height {
            for column in 0..<screen.size.width {
                let current = screen[row, column]
                if !full, let previous, previous[row, column] == current { continue }
                if current.width == 0 { continue }
                let (attributes, pair) = attributes(for: current.style)
                var count = 0
                for scalar in current.character.unicodeScalars where count < 5 {
                    wide[count] = wchar_t(bitPattern: scalar.value)
                    count += 1
                }
                wide[count] = 0
                setcchar(&cell, wide, attributes, pair, nil)
                mvwadd_wch(window, Int32(row), Int32(column), &cell)
            }
        }
        if let cursor = screen.cursor {
            wmove(window, Int32(cursor.row), Int32(cursor.column))
        } else {
            wmove(window, Int32(max(0, screen.size.height - 1)), 0)
        }
        wnoutrefresh(window)
        doupdate()
        previous = screen
    }

    /// How a style looks: colour where available, and always an attribute where the meaning matters,
    /// so a monochrome terminal still shows it.
    private func attributes(for style: Style) -> (attr_t, Int16) {
        let bold = shim_a_bold()
        let reverse = shim_a_reverse()
        let underline = shim_a_underline()
        let dim = shim_a_dim()
        let normal = shim_a_normal()
        func color(_ pair: Pair, _ mono: attr_t, _ extra: attr_t = 0) -> (attr_t, Int16) {
            usesColor ? (extra, pair.rawValue) : (mono, 0)
        }
        switch style {
        case .normal: return (normal, 0)
        case .header: return (reverse, 0)
        case .title: return (bold, 0)
        case .selected: return (reverse, 0)
        case .dim: return usesColor ? (dim, 0) : (normal, 0)
        case .border: return color(.blue, normal)
        case .hintKey: return (bold, 0)
        case .hint: return (normal, 0)
        case .error: return color(.red, bold | underline, bold)
        case .warning: return color(.yellow, bold, bold)
        case .info: return color(.cyan, normal)
        case .ok: return color(.green, normal)
        case .danger: return color(.red, bold | reverse, bold | reverse)
        case .escape: return color(.magenta, underline, underline)
        case .yamlKey: return color(.cyan, normal)
        case .yamlString: return color(.green, normal)
        case .yamlNumber: return color(.magenta, normal)
        case .yamlComment: return usesColor ? (dim, 0) : (normal, 0)
        case .yamlPunct: return color(.yellow, normal)
        case .input: return color(.cyan, underline, bold)
        }
    }

    /// Runs `body` with the terminal given back to the shell's modes (another program, such as
    /// ssh-keygen asking for a passphrase, may use it), then takes it again and repaints fully.
    public func withTerminalHandedOver(_ body: () -> Void) {
        guard !restored, screenPointer != nil else { return body() }
        def_prog_mode()
        endwin()
        body()
        reset_prog_mode()
        clearok(shim_stdscr(), true)
        previous = nil
        refresh()
    }

    /// Gives the terminal back as it was: idempotent, so every exit path may call it.
    public func restore() {
        guard !restored else { return }
        restored = true
        if screenPointer != nil {
            endwin()
            delscreen(screenPointer)
            screenPointer = nil
        }
        if let ttyFile { fclose(ttyFile) }
        ttyFile = nil
        for signal in [SIGTERM, SIGHUP, SIGINT, SIGWINCH] { Foundation.signal(signal, SIG_DFL) }
        for signal in Self.fatalSignals { sigaction(signal, &previousFatalActions[Int(signal)], nil) }
        signalPipeWrite = -1
        for fd in signalPipe where fd >= 0 { close(fd) }
        signalPipe = [-1, -1]
    }
}
