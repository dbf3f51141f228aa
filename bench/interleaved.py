#!/usr/bin/env python3
"""Runs commands in interleaved rounds and prints each one's median wall and CPU time.

Usage: interleaved.py ROUNDS WARMUP OUT.json NAME=COMMAND... (COMMAND split on spaces, no shell).

Each round runs every command once, in turn, so a machine that slows down or speeds up during
the run (a shared host does) weighs on all of them alike and the ratios stay fair; the median
ignores the odd disturbed run. CPU time is the child's own user + system time (wait4)."""
import json
import os
import statistics
import sys
import time


# Output goes to /dev/null; posix_spawn keeps the runner's own cost per run small and equal.
QUIET = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0), (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)]


def run_once(argv):
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=QUIET)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(argv)} exited {code}")
    return wall, usage.ru_utime + usage.ru_stime


def main():
    rounds, warmup, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    commands = [arg.split("=", 1) for arg in sys.argv[4:]]
    walls = {name: [] for name, _ in commands}
    cpus = {name: [] for name, _ in commands}
    for round_number in range(warmup + rounds):
        for name, command in commands:
            wall, cpu = run_once(command.split())
            if round_number >= warmup:
                walls[name].append(wall)
                cpus[name].append(cpu)
    results = [{"command": name, "median": statistics.median(walls[name]), "cpu": statistics.median(cpus[name]),
                "walls": walls[name]} for name, _ in commands]
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"results": results}, f, indent=1)


if __name__ == "__main__":
    main()
