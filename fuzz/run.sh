#!/usr/bin/env bash
# Builds every libFuzzer target with the fuzzer and address sanitizers and runs each for SECONDS
# (default 60), two at a time. Fails on any crash, leak or sanitizer report.
#   fuzz/run.sh [SECONDS] [TARGET...]
# FUZZ_RUNS=N (CI) stops each target after N inputs with a fixed seed, so a CI run is repeatable.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=($(ls Sources | grep '^Fuzz' | grep -v FuzzSupport))
fi
toolchain_lib=$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")/lib
fuzzer_lib=$(ls "$toolchain_lib"/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a | head -1)
flags=(-c debug --scratch-path .build-fuzz -Xswiftc -use-ld=lld
       -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
       -Xlinker "$fuzzer_lib" -Xlinker -lstdc++)
for target in "${targets[@]}"; do
    swift build "${flags[@]}" --product "$target"
done
bin=$(swift build "${flags[@]}" --show-bin-path)
mkdir -p artifacts
# Fake stacks would put locals on the heap, where the schema validator's stack guard (which reads
# a local's address) would think the stack is exhausted.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_stack_use_after_return=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/lsan-suppressions.txt}
status=0
run_one() {
    local target=$1 corpus=corpus/$1 work
    work=$(mktemp -d)
    # New inputs go to a scratch directory; the committed seed corpus stays small.
    local budget=(-max_total_time="$seconds")
    if [ -n "${FUZZ_RUNS:-}" ]; then budget+=(-runs="$FUZZ_RUNS" -seed=1); fi
    "$bin/$target" "${budget[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -dict=dictionary.txt -artifact_prefix="artifacts/$target-" -print_final_stats=1 \
        "$work" "$corpus" > "artifacts/$target.log" 2>&1 || { echo "FAILED: $target (see fuzz/artifacts/$target.log)"; return 1; }
    rm -rf "$work"
    echo "ok: $target $(grep -E 'stat::number_of_executed_units|cov:' "artifacts/$target.log" | tail -2 | tr '\n' ' ')"
}
pids=()
for target in "${targets[@]}"; do
    run_one "$target" & pids+=($!)
    if [ ${#pids[@]} -ge 2 ]; then wait "${pids[0]}" || status=1; pids=("${pids[@]:1}"); fi
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
