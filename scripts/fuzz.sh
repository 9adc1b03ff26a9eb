#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang into build-fuzz, then runs each for
# FLYWHEEL_FUZZ_SECONDS seconds (default 20) from its seed corpus and its past crashes. A crash,
# leak or timeout fails the script and leaves the input in build-fuzz/artifacts/; copy it into
# tests/fuzz/regressions/<target>/ with the fix, and ctest replays it from then on.
# FLYWHEEL_FUZZ_SEED (default 1) fixes libFuzzer's mutation sequence, so a bounded run repeats the
# inputs a longer run with the same seed began with: CI's run is reproducible, and a pass of N
# seconds here covers what CI tries in fewer. FLYWHEEL_FUZZ_SEED=0 picks a random seed (explore).
#   scripts/fuzz.sh [TARGET ...]     (default: every target)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FLYWHEEL_FUZZ_SECONDS:-20}
seed=${FLYWHEEL_FUZZ_SEED:-1}
all=(safetensors_header config_json tokenizer_json chat_template job_spec task_spec math_answer
  weight_chunks)
targets=("${@:-${all[@]}}")
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DFLYWHEEL_FUZZ=ON -DFLYWHEEL_CUDA=OFF \
  -DFLYWHEEL_BUILD_TESTS=OFF -DFLYWHEEL_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"${FLYWHEEL_JOBS:-2}" --target "${targets[@]/#/fuzz_}"
work=build-fuzz/corpus
mkdir -p build-fuzz/artifacts
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1
for t in "${targets[@]}"; do
  # New inputs go to a scratch copy; the checked-in corpus stays as it is.
  mkdir -p "$work/$t"
  cp -n tests/fuzz/corpus/"$t"/* "$work/$t/" 2>/dev/null || true
  # A target that never crashed has no regressions folder (git keeps no empty folders).
  inputs=("$work/$t")
  if [ -d "tests/fuzz/regressions/$t" ]; then inputs+=("tests/fuzz/regressions/$t"); fi
  echo "fuzz: $t for ${seconds}s (seed $seed)"
  if ! build-fuzz/tests/fuzz/fuzz_"$t" -max_total_time="$seconds" -seed="$seed" -timeout=10 \
      -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="build-fuzz/artifacts/$t-" "${inputs[@]}" 2>"build-fuzz/$t.log"; then
    tail -n 60 "build-fuzz/$t.log"
    echo "fuzz: $t FAILED; the input is in build-fuzz/artifacts/" >&2
    exit 1
  fi
  grep -E "stat::number_of_executed_units|stat::new_units_added" "build-fuzz/$t.log" | tr '\n' ' '
  echo
done
