#!/usr/bin/env python3
"""Time from starting `wpk review` in a 120x40 tmux pane until the Runs view shows the oldest
waiting run of the 10,000-run ledger (wpk-bench writes it), the first time (no snapshot: the
whole 76 MB ledger is read and verified) and in later sessions (started from the snapshot the
first one kept, the file checked against it). The pane is polled every few milliseconds (each
look starts a tmux client). With --append-only (root, a file system with chattr +a) the ledger is
made append-only as `wpk approvals init` makes a team ledger: the snapshot's bytes are then not
hashed again.
Usage: bench/review-runs-first-frame.py [--append-only] [WPK] [WPK_BENCH] [ROUNDS]"""
import os, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
append_only = "--append-only" in sys.argv
if append_only:
    sys.argv.remove("--append-only")
wpk = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else root + "/.build/release/wpk")
bench = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else root + "/.build/release/wpk-bench")
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 10
work = tempfile.mkdtemp(prefix="wpk-review-bench-")
env = dict(os.environ, WPK_LEDGER=work + "/ledger.jsonl", XDG_STATE_HOME=work + "/state", TERM="xterm-256color")
subprocess.run([bench], env=dict(env, WPK_BENCH_WRITE_RUNS_LEDGER=env["WPK_LEDGER"]), check=True)
if append_only:
    subprocess.run(["chattr", "+a", env["WPK_LEDGER"]], check=True)
# The oldest waiting run (ids count from 1) heads the Runs view once its rows are in.
wanted = "0000000000000001"
socket = work + "/tmux"


def session(name):
    command = f"cd {root} && exec {wpk} review examples/playbooks"
    start = time.monotonic_ns()
    subprocess.run(["tmux", "-S", socket, "new-session", "-d", "-s", name, "-x", "120", "-y", "40", "sh", "-c", command],
                   env=env, check=True)
    while True:
        screen = subprocess.run(["tmux", "-S", socket, "capture-pane", "-p", "-t", name], capture_output=True, text=True).stdout
        if wanted in screen:
            elapsed = (time.monotonic_ns() - start) / 1e6
            break
        if (time.monotonic_ns() - start) > 30e9:
            sys.exit("the Runs view did not show the waiting run within 30 s:\n" + screen)
    subprocess.run(["tmux", "-S", socket, "send-keys", "-t", name, "q"], check=True)
    while subprocess.run(["tmux", "-S", socket, "has-session", "-t", name], capture_output=True).returncode == 0:
        time.sleep(0.01)
    return elapsed


try:
    kind = "append-only ledger" if append_only else "ledger"
    print(f"load average before: {open('/proc/loadavg').read().split()[:3]}; {wpk}; {kind}")
    print(f"first session, no snapshot: {session('cold'):.0f} ms")
    times = sorted(session(f"warm{i}") for i in range(rounds))
    print(f"later sessions, from the snapshot: median {times[len(times) // 2]:.0f} ms, "
          f"min {times[0]:.0f} ms, max {times[-1]:.0f} ms, n={rounds}")
    print(f"load average after: {open('/proc/loadavg').read().split()[:3]}")
finally:
    subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True)
    subprocess.run(["chattr", "-a", env["WPK_LEDGER"]], capture_output=True)
    subprocess.run(["rm", "-rf", work])
