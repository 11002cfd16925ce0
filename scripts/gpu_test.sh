#!/usr/bin/env bash
# The one script for a machine with an NVIDIA GPU: builds with CUDA, runs the CPU suite, the GPU
# tests, the Python package's tests (PyTorch CUDA tensors), compute-sanitizer (memcheck and
# racecheck) on the GPU tests, SmartPool's GPU test and the GPU benchmark (with nvCOMP and
# DFloat11 beside it when their wheels are in .whl/). Logs go to $OUT (or ./out-gpu); the summary
# at the end lists every step's result. Budget: about 13 minutes
# on an H100 (each step has its own time limit): 5.2 for the builds, tests and benchmarks (1.7 of
# it the build), 7.9 for the eight compute-sanitizer runs side by side (at 6093aad; racecheck of
# test_gpu_padic --quick, the longest, took 471 s of its 540, racecheck of test_gpu_lossless 423). Where one
# command may run 10 minutes at most, run `--no-sanitizer`, then `--no-tests --no-bench` (the
# sanitizers alone; the build is reused).
#
# Real weights: .bench/gpu-data (bench/gpu/make_data_subset.py, ~28 MB, small enough to carry
# with the wheels) or else .bench/data; synthetic data when neither exists.
# Usage: scripts/gpu_test.sh [--no-tests] [--no-sanitizer] [--no-bench]
# (--no-tests skips the CPU suite and the plain GPU test runs, e.g. to run the sanitizers apart.)
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT_DIR=${OUT:-$ROOT/out-gpu}
mkdir -p "$OUT_DIR"
BUILD=${BUILD:-$ROOT/build-gpu}
JOBS=$(nproc 2>/dev/null || echo 8)
RUN_TESTS=1
RUN_BENCH=1
RUN_SANITIZER=1
for arg in "$@"; do
  case $arg in
    --no-bench) RUN_BENCH=0 ;;
    --no-sanitizer) RUN_SANITIZER=0 ;;
    --no-tests) RUN_TESTS=0 ;;
    *) echo "gpu_test.sh: unknown option '$arg' (use --no-tests, --no-sanitizer, --no-bench)" >&2; exit 2 ;;
  esac
done
if [ -d "$ROOT/.bench/gpu-data" ]; then export SARAPHIS_GPU_DATA=$ROOT/.bench/gpu-data
elif [ -d "$ROOT/.bench/data" ]; then export SARAPHIS_GPU_DATA=$ROOT/.bench/data; fi

SUMMARY=()
FAILED=0

# Python wheels the GPU machine lacks, carried in .whl/ (it has no network): the peers of the
# benchmark (nvCOMP; DFloat11 and its one dependency, dahuffman) and what the Python package's
# tests need beyond the image (pytest and its dependencies, ml-dtypes).
WHEELS=()
for pattern in '*nvcomp*.whl' 'dfloat11-*.whl' 'dahuffman-*.whl' 'pytest-*.whl' 'pluggy-*.whl' \
               'iniconfig-*.whl' 'packaging-*.whl' 'pygments-*.whl' 'ml_dtypes-*.whl'; do
  for wheel in "$ROOT"/.whl/$pattern; do [ -e "$wheel" ] && WHEELS+=("$wheel"); done
done
if [ ${#WHEELS[@]} -gt 0 ]; then
  PYLIB=$(mktemp -d) # not under $OUT_DIR: the logs are what comes back from a GPU machine
  python3 -m pip install --quiet --no-index --no-deps --target "$PYLIB" "${WHEELS[@]}" >"$OUT_DIR/pip.log" 2>&1 &&
    export PYTHONPATH="$PYLIB${PYTHONPATH:+:$PYTHONPATH}"
fi
# step NAME LIMIT_SECONDS COMMAND...: runs with a time limit, logs to $OUT_DIR/NAME.log.
step() {
  local name=$1 limit=$2; shift 2
  local log="$OUT_DIR/$name.log" start=$SECONDS
  echo "=== $name: $*" | tee "$log"
  timeout --kill-after=10 "$limit" "$@" >>"$log" 2>&1
  local rc=$?
  tail -n 25 "$log"
  local line="$name: rc=$rc ($((SECONDS - start)) s)"
  [ $rc -eq 124 ] && line="$line TIMED OUT after ${limit}s"
  SUMMARY+=("$line")
  [ $rc -ne 0 ] && FAILED=1
  echo "=== $line"
  return $rc
}

{ nvidia-smi -L; nvcc --version | tail -1; } 2>&1 | tee "$OUT_DIR/device.log"

step configure 120 cmake -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSARAPHIS_CUDA=ON || { printf '%s\n' "${SUMMARY[@]}"; exit 1; }
grep -q "SARAPHIS_WITH_CUDA" "$BUILD/CMakeFiles/saraphis_objects.dir/flags.make" 2>/dev/null ||
  echo "warning: CUDA not found by CMake; GPU programs will be missing" | tee -a "$OUT_DIR/configure.log"
step build 300 cmake --build "$BUILD" -j "$JOBS" || { printf '%s\n' "${SUMMARY[@]}"; exit 1; }
step build-gpu 240 cmake --build "$BUILD" -j "$JOBS" --target test_gpu_lossless test_gpu_encode test_gpu_padic test_gpu_padic_encode bench_gpu_lossless bench_gpu_padic test_pool_cuda

if [ $RUN_TESTS -eq 1 ]; then
  # The CPU suite, in parallel (the GPU build's CPU tests must pass too).
  step cpu-tests 240 ctest --test-dir "$BUILD" -j "$JOBS" --output-on-failure --timeout 200

  # The GPU codec against the CPU: decode, and encode (frames byte-identical to the CPU's).
  step gpu-tests 240 "$BUILD/test_gpu_lossless"
  # The bounded (p-adic) decoder against the CPU.
  step gpu-padic-tests 240 "$BUILD/test_gpu_padic"
  step gpu-encode 240 "$BUILD/test_gpu_encode"
  # The bounded (p-adic) encoder against the CPU: frames byte-identical, cross decodes.
  step gpu-padic-encode 300 "$BUILD/test_gpu_padic_encode"
  # The Python package over this build's library: PyTorch CUDA tensors encoded and decoded on the
  # GPU from Python, frames compared with the CPU's (tests/python, docs/python.md).
  step python-tests 300 env SARAPHIS_LIBRARY="$BUILD/libsaraphis.so" SARAPHIS_REQUIRE_REAL_DATA=1 \
    SARAPHIS_DATA="${SARAPHIS_GPU_DATA:-$ROOT/.bench/data}" PYTHONPATH="$ROOT/python${PYTHONPATH:+:$PYTHONPATH}" \
    python3 -m pytest -q -p no:cacheprovider -rs "$ROOT/tests/python"
fi

# compute-sanitizer on the GPU tests (--quick: the small inputs), all eight runs side by side: the
# tools are bound by their host-side bookkeeping, one process a core, not by the GPU (one after
# the other they took over ten minutes on an H100; together about six and a half).
if [ $RUN_SANITIZER -eq 1 ] && command -v compute-sanitizer >/dev/null; then
  SANITIZED=()
  for test in lossless padic encode padic_encode; do
    suffix=${test//_/-}
    suffix=${suffix#lossless}
    for tool in memcheck racecheck; do
      name=$tool${suffix:+-$suffix}
      extra=()
      [ $tool = memcheck ] && extra=(--leak-check full)
      SANITIZED+=("$name")
      # Each in a subshell: step's summary line goes to NAME.result for the parent to collect.
      ( step "$name" 540 compute-sanitizer --tool $tool --error-exitcode 99 ${extra[@]+"${extra[@]}"} "$BUILD/test_gpu_$test" --quick >/dev/null
        echo "${SUMMARY[-1]}" >"$OUT_DIR/$name.result" ) &
    done
  done
  wait
  for name in "${SANITIZED[@]}"; do
    line=$(cat "$OUT_DIR/$name.result" 2>/dev/null || echo "$name: no result")
    echo "=== $line"
    tail -n 3 "$OUT_DIR/$name.log"
    SUMMARY+=("$line")
    case $line in *"rc=0 "*) ;; *) FAILED=1 ;; esac
  done
fi

# SmartPool and the pressure handler on the device (tests/gpu/README.md); it fills ~97% of the
# device, so it runs after the codec tests.
if [ $RUN_TESTS -eq 1 ]; then step pool-cuda 180 "$BUILD/test_pool_cuda"; fi

if [ $RUN_BENCH -eq 1 ]; then
  step bench 300 "$BUILD/bench_gpu_lossless" --bytes $((256 << 20)) --runs 20
  step bench-padic 240 "$BUILD/bench_gpu_padic" --bytes $((256 << 20)) --runs 20
  # The Python package's cost over the C calls, with PyTorch CUDA tensors.
  step bench-python 180 env SARAPHIS_LIBRARY="$BUILD/libsaraphis.so" \
    python3 "$ROOT/bench/gpu/bench_python.py" --bytes $((256 << 20)) --runs 20
fi

echo
echo "=== summary (logs in $OUT_DIR)"
printf '%s\n' "${SUMMARY[@]}" | tee "$OUT_DIR/summary.log"
exit $FAILED
