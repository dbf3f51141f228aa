#!/usr/bin/env python3
"""Time from starting `wpk review` in a 120x40 tmux pane until the Runs view shows the oldest
waiting run of the 10,000-run ledger (wpk-bench writes it): the first session (no snapshot: the
whole 76 MB ledger is read and verified) and later sessions (each starts from the snapshot the
first one kept, the file checked against it).

The pane's output is followed through a tmux control-mode client, which receives every byte the
program writes as it is written (no polling): the clock starts when the control client asks
tmux to press Enter at a shell that then execs wpk, and stops at the output carrying the run id.

With --append-only (root, a file system with chattr +a) the ledger is made append-only, as
`wpk approvals init` makes a team ledger (read the same way: its bytes are hashed again too).
Usage: bench/review-runs-first-frame.py [--append-only] [WPK] [WPK_BENCH] [ROUNDS]"""
import os, re, select, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
append_only = "--append-only" in sys.argv
if append_only:
    sys.argv.remove("--append-only")
wpk = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else root + "/.build/release/wpk")
bench = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else root + "/.build/release/wpk-bench")
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 10
work = tempfile.mkdtemp(prefix="wpk-review-bench-")
ledger = work + "/ledger.jsonl"
subprocess.run([bench], env=dict(os.environ, WPK_BENCH_WRITE_RUNS_LEDGER=ledger), check=True)
if append_only:
    subprocess.run(["chattr", "+a", ledger], check=True)
# The oldest waiting run (ids count from 1) heads the Runs view once its rows are in.
wanted = "0000000000000001"
socket = work + "/tmux"
octal = re.compile(r"\\([0-7]{3})")


def session(name):
    command = (f"read go; cd {root} && exec env WPK_LEDGER={ledger} XDG_STATE_HOME={work}/state TERM=xterm-256color "
               f"{wpk} review examples/playbooks")
    subprocess.run(["tmux", "-S", socket, "new-session", "-d", "-s", name, "-x", "120", "-y", "40", "sh", "-c", command],
                   check=True)
    control = subprocess.Popen(["tmux", "-C", "-S", socket, "attach", "-t", name], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, bufsize=0)
    pending = b""

    def lines(deadline):
        nonlocal pending
        while time.monotonic() < deadline:
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                yield line.decode("utf-8", "replace")
            ready, _, _ = select.select([control.stdout], [], [], max(0, deadline - time.monotonic()))
            if ready:
                pending += os.read(control.stdout.fileno(), 65536)
        sys.exit(f"nothing more from tmux in time in session {name}")

    # Attached once tmux has answered a command of ours.
    control.stdin.write(b"display-message -p attached\n")
    for line in lines(time.monotonic() + 10):
        if line == "attached":
            break
    start = time.monotonic()
    control.stdin.write(f"send-keys -t {name} Enter\n".encode())
    seen = ""
    first_frame = None
    for line in lines(start + 30):
        if line.startswith("%output "):
            seen += octal.sub(lambda m: chr(int(m.group(1), 8)), line.split(" ", 2)[2])
            # The header and the list's column titles: the first frame.
            if first_frame is None and "wpk review" in seen and "PATH" in seen:
                first_frame = (time.monotonic() - start) * 1000
            if wanted in seen:
                elapsed = (time.monotonic() - start) * 1000
                break
    control.stdin.write(f"send-keys -t {name} q\n".encode())
    control.stdin.close()
    control.wait()
    while subprocess.run(["tmux", "-S", socket, "has-session", "-t", name], capture_output=True).returncode == 0:
        time.sleep(0.01)
    return first_frame, elapsed


def summary(values):
    values = sorted(values)
    return f"median {values[len(values) // 2]:.0f} ms, min {values[0]:.0f} ms, max {values[-1]:.0f} ms"


try:
    kind = "append-only ledger" if append_only else "ledger"
    print(f"load average before: {open('/proc/loadavg').read().split()[:3]}; {wpk}; {kind}")
    frame, rows = session("cold")
    print(f"first session, no snapshot: first frame {frame:.0f} ms, Runs view rows {rows:.0f} ms")
    times = [session(f"warm{i}") for i in range(rounds)]
    print(f"later sessions, from the snapshot (n={rounds}): first frame {summary([t[0] for t in times])}; "
          f"Runs view rows {summary([t[1] for t in times])}")
    print(f"load average after: {open('/proc/loadavg').read().split()[:3]}")
finally:
    subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True)
    subprocess.run(["chattr", "-a", ledger], capture_output=True)
    subprocess.run(["rm", "-rf", work])
