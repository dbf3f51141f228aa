#!/usr/bin/env bash
# wpk validate over 1,000 generated playbooks, next to Python jsonschema and jsonschema-rs (both
# with PyYAML's C loader) and libyaml's bare event parse in C, in one run; prints the ratios.
#   bench/validate-bench.sh [COUNT]     (needs: swift, gcc, python3 with PyYAML,
#                                        jsonschema, jsonschema-rs)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
swift build -c release --product wpk >/dev/null
python3 bench/generate_corpus.py "$work/corpus" "$count"
gcc -O2 -o "$work/bare_parse" bench/bare_parse.c $(pkg-config --cflags --libs yaml-0.1)
wpk=.build/release/wpk
schema=specs/wpk_schema.yaml
$wpk validate "$work/corpus" >/dev/null   # every generated playbook must be valid
first=playbook-00000.wpk.yaml  # the generator's first file (ls | head would trip pipefail)
# Interleaved rounds, medians (see bench/interleaved.py): the host is shared and its speed drifts.
python3 bench/interleaved.py 15 2 "$work/results.json" \
    "libyaml bare parse (C)=$work/bare_parse $work/corpus" \
    "wpk validate=$wpk validate $work/corpus" \
    "jsonschema-rs + PyYAML C=python3 bench/python_validate.py jsonschema-rs $schema $work/corpus" \
    "jsonschema + PyYAML C=python3 bench/python_validate.py jsonschema $schema $work/corpus" \
    "wpk validate, one playbook=$wpk validate $work/corpus/$first"
python3 - "$work/results.json" "$count" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["results"]
results = {r["command"]: r["median"] for r in runs}
# CPU time (user + system) is what a shared machine distorts least; wall time is what the targets say.
cpu = {r["command"]: r["cpu"] for r in runs}
wpk = results["wpk validate"]
print(f"{sys.argv[2]} playbooks (median of 15 interleaved rounds; load average {open('/proc/loadavg').read().split()[0]}):")
print(f"  {'':28} {'wall':>9}         {'':>6}       {'CPU (user+sys)':>14}")
for name, seconds in results.items():
    print(f"  {name:28} {seconds * 1000:9.1f} ms   {seconds / wpk:6.2f}x wpk   {cpu[name] * 1000:9.1f} ms")
print(f"wpk is {results['jsonschema + PyYAML C'] / wpk:.1f}x faster than jsonschema (target >= 20x),")
print(f"       {results['jsonschema-rs + PyYAML C'] / wpk:.1f}x faster than jsonschema-rs,")
print(f"       {wpk / results['libyaml bare parse (C)']:.2f}x the bare C parse (target <= 3x);")
print(f"one playbook, process start to exit: {results['wpk validate, one playbook'] * 1000:.1f} ms (target < 15 ms)")
PY
