#!/usr/bin/env bash
# Builds and runs tests under sanitizers, each in a build dir of its own with only the targets
# its tests need (CI runs both after the ordinary suite):
#   scripts/sanitize.sh asan   AddressSanitizer + UndefinedBehaviorSanitizer (build-asan): the unit
#                              and integration tests, daemons included
#   scripts/sanitize.sh tsan   ThreadSanitizer (build-tsan): the concurrent ones: thread pool and
#                              task queue, engine, rollout and reward services, replica set, the
#                              learner daemon and the server faults
# Every process writes its reports (test binaries and the daemons they start alike) under
# build-*/sanitizer-reports/; the script fails if ctest fails or if any report was written, and
# prints the reports. Suppressions live in tests/sanitizers/, each with the reason it is false.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: scripts/sanitize.sh asan|tsan}
jobs=${FLYWHEEL_JOBS:-2}

case "$mode" in
  asan)
    dir=build-asan
    flags=(-DFLYWHEEL_SANITIZE=ON)
    targets=(base_test crc32c_test metrics_server_test kernels_test model_test tokenizer_test
      reward_test reward_server_test reward_time_limit_test rollout_engine_test
      rollout_server_test replica_set_test learner_training_test learner_jobs_test
      job_spec_check_test arith_task_test algorithm_steps_test cli_test tls_test
      learner_grpo_job_test learner_resume_test learner_failover_test learner_bad_job_test
      learner_async_resume_test learner_tenant_test learner_watch_hangup_test learner_tls_job_test
      server_fault_test
      checkpoint_fault_test startup_fault_test)
    # The fuzz_replay.* inputs are not rebuilt here: scripts/fuzz.sh runs every corpus and
    # regression input under clang's ASan+UBSan before it fuzzes.
    # The PyTorch golden tests check numbers that the plain build checks already, at 3-5x the time
    # under ASan (the model's own code runs under ASan in every other model test); the GEMM
    # variant repeats kernels_test with one kernel switched off.
    exclude='GoldenTest|gemm_avx2_only|fuzz_replay'
    export ASAN_OPTIONS="log_path=$PWD/$dir/sanitizer-reports/asan:detect_leaks=1:abort_on_error=1"
    export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp"
    export FLYWHEEL_TEST_TIME_SCALE=2
    export UBSAN_OPTIONS="log_path=$PWD/$dir/sanitizer-reports/ubsan:print_stacktrace=1:halt_on_error=1"
    ;;
  tsan)
    dir=build-tsan
    flags=(-DFLYWHEEL_TSAN=ON)
    targets=(flywheel_tsan_sync_shim base_test rollout_engine_test rollout_server_test reward_server_test
      reward_time_limit_test replica_set_test learner_grpo_job_test learner_resume_test
      learner_failover_test learner_async_resume_test learner_tenant_test learner_watch_hangup_test
      server_fault_test)
    exclude='fuzz_replay|DeployPrometheus|gemm_avx2_only'
    # ignore_noninstrumented_modules: memory accesses that Debian's uninstrumented libraries make
    # through TSan's interceptors (memcpy, free, ...) are not checked; their own synchronisation
    # is invisible to TSan, so those reports could only be false.
    export TSAN_OPTIONS="log_path=$PWD/$dir/sanitizer-reports/tsan:halt_on_error=0:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=$PWD/tests/sanitizers/tsan.supp"
    # Makes the synchronisation inside Debian's (uninstrumented) gRPC and Abseil visible to TSan;
    # see tests/sanitizers/tsan_sync_shim.cc.
    preload=$PWD/$dir/tests/sanitizers/libflywheel_tsan_sync_shim.so
    export FLYWHEEL_TEST_TIME_SCALE=5
    ;;
  *)
    echo "usage: scripts/sanitize.sh asan|tsan" >&2
    exit 2
    ;;
esac

# -O1 -g1 (line tables only): what sanitizer builds usually use, and cheaper to compile than
# -O2 -g; asserts stay on.
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS="-O1 -g1" \
  -DCMAKE_CXX_FLAGS="-O1 -g1" -DFLYWHEEL_CUDA=OFF -DFLYWHEEL_BUILD_BENCH=OFF "${flags[@]}" >/dev/null
cmake --build "$dir" -j"$jobs" --target "${targets[@]}"
# The tokenizer's JavaScript reference, installed once for the ordinary build, serves this one.
if [ -d build/js ] && [ ! -e "$dir/js" ]; then ln -s ../build/js "$dir/js"; fi
rm -rf "$dir/sanitizer-reports"
mkdir -p "$dir/sanitizer-reports"
status=0
# Only the tests of the executables built here (the others are registered as <target>_NOT_BUILT).
LD_PRELOAD=${preload:-} ctest --test-dir "$dir" --output-on-failure -j"$jobs" -E "_NOT_BUILT|$exclude" --timeout 900 \
  --no-tests=error || status=$?
if compgen -G "$dir/sanitizer-reports/*" >/dev/null; then
  echo "sanitize $mode: reports written:" >&2
  for f in "$dir"/sanitizer-reports/*; do
    echo "=== $f" >&2
    head -n 80 "$f" >&2
  done
  status=1
fi
exit "$status"
