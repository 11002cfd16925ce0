#!/usr/bin/env bash
# A/B timing of the GPU decoders (and encoders) on a machine with an NVIDIA GPU: an older revision against the
# working tree, built the same way and run alternately in one call, so that both see the same card,
# clocks and data (single calls on different machines spread by several percent; docs/gpu.md).
#
#   scripts/gpu_ab.sh [--rev REV] [--rounds N] [--runs N] [--only DTYPE] [--padic] [--encode]
#
# --rev     the baseline (default HEAD: the working tree's uncommitted change against its commit);
#           taken with `git archive`, so it must be in this clone's history
# --rounds  old/new alternations (default 3)
# --runs    calls per median inside each benchmark (default 20)
# --only    one dtype for the lossless rows (bf16, f16, f32)
# --padic   also the bounded decoder (bench_gpu_padic --decode-only at eps 1e-3)
# --encode  also the lossless encoder's rows (and test_gpu_encode first)
# The new build's test_gpu_lossless runs first (and test_gpu_padic --quick with --padic): a
# change that fails them is not timed (test_gpu_encode too with --encode). Both builds are Release, for the card in the machine only
# (its compute capability from nvidia-smi; the project's list of targets when it does not say), in
# $AB_DIR (default /tmp/saraphis-ab). Data: as gpu_test.sh (.bench/gpu-data, else .bench/data,
# else synthetic).
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
REV=HEAD
ROUNDS=3
RUNS=20
ONLY=
PADIC=0
ENCODE=0
while [ $# -gt 0 ]; do
  case $1 in
    --rev) REV=${2:?--rev needs a revision}; shift ;;
    --rounds) ROUNDS=${2:?--rounds needs a count}; shift ;;
    --runs) RUNS=${2:?--runs needs a count}; shift ;;
    --only) ONLY=${2:?--only needs a dtype}; shift ;;
    --padic) PADIC=1 ;;
    --encode) ENCODE=1 ;;
    *) echo "gpu_ab.sh: unknown option '$1' (use --rev, --rounds, --runs, --only, --padic, --encode)" >&2; exit 2 ;;
  esac
  shift
done
case $ROUNDS$RUNS in *[!0-9]*) echo "gpu_ab.sh: --rounds and --runs take whole numbers" >&2; exit 2 ;; esac
command -v nvidia-smi >/dev/null || { echo "gpu_ab.sh: no nvidia-smi: this needs a machine with an NVIDIA GPU" >&2; exit 1; }
if [ -d "$ROOT/.bench/gpu-data" ]; then export SARAPHIS_GPU_DATA=$ROOT/.bench/gpu-data
elif [ -d "$ROOT/.bench/data" ]; then export SARAPHIS_GPU_DATA=$ROOT/.bench/data; fi
AB=${AB_DIR:-/tmp/saraphis-ab}
JOBS=$(nproc 2>/dev/null || echo 8)
OLD_SRC=$AB/old-src
rm -rf "$OLD_SRC" && mkdir -p "$OLD_SRC" || exit 1
git archive "$REV" | tar -x -C "$OLD_SRC" || { echo "gpu_ab.sh: cannot read revision '$REV' from git" >&2; exit 1; }
OLD_LABEL=$(git rev-parse --short "$REV")
NEW_LABEL="working tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src include || echo ', changed'))"

ARCH=()
CAP=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
case $CAP in [0-9][0-9]|[0-9][0-9][0-9]) ARCH=(-DCMAKE_CUDA_ARCHITECTURES="$CAP") ;; esac
TARGETS=(bench_gpu_lossless test_gpu_lossless)
[ $PADIC -eq 1 ] && TARGETS+=(bench_gpu_padic test_gpu_padic)
[ $ENCODE -eq 1 ] && TARGETS+=(test_gpu_encode)
# build SOURCE BUILD_DIR LOG: both builds at once (half the cores each).
build() {
  cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release -DSARAPHIS_CUDA=ON ${ARCH[@]+"${ARCH[@]}"} >"$3" 2>&1 &&
    cmake --build "$2" -j $(((JOBS + 1) / 2)) --target "${TARGETS[@]}" >>"$3" 2>&1
}
build "$OLD_SRC" "$AB/old-build" "$AB/old-build.log" & old_pid=$!
build "$ROOT" "$AB/new-build" "$AB/new-build.log" & new_pid=$!
wait $old_pid || { tail -20 "$AB/old-build.log"; echo "gpu_ab.sh: the build of $OLD_LABEL failed" >&2; exit 1; }
wait $new_pid || { tail -20 "$AB/new-build.log"; echo "gpu_ab.sh: the build of the working tree failed" >&2; exit 1; }

nvidia-smi -L
"$AB/new-build/test_gpu_lossless" >"$AB/test_gpu_lossless.log" 2>&1 || { tail -20 "$AB/test_gpu_lossless.log"; echo "gpu_ab.sh: test_gpu_lossless failed on the working tree: not timed" >&2; exit 1; }
grep -q "^test_gpu_lossless: skipped" "$AB/test_gpu_lossless.log" && { tail -1 "$AB/test_gpu_lossless.log"; echo "gpu_ab.sh: the test found no CUDA device" >&2; exit 1; }
tail -1 "$AB/test_gpu_lossless.log"
if [ $PADIC -eq 1 ]; then
  "$AB/new-build/test_gpu_padic" --quick >"$AB/test_gpu_padic.log" 2>&1 || { tail -20 "$AB/test_gpu_padic.log"; echo "gpu_ab.sh: test_gpu_padic failed on the working tree: not timed" >&2; exit 1; }
  tail -1 "$AB/test_gpu_padic.log"
fi

if [ $ENCODE -eq 1 ]; then
  "$AB/new-build/test_gpu_encode" >"$AB/test_gpu_encode.log" 2>&1 || { tail -20 "$AB/test_gpu_encode.log"; echo "gpu_ab.sh: test_gpu_encode failed on the working tree: not timed" >&2; exit 1; }
  tail -1 "$AB/test_gpu_encode.log"
fi
ROWS=" decode "
LOSSLESS=(--no-nvcomp --no-dfloat11 --no-tensors --no-host --runs "$RUNS")
[ -n "$ONLY" ] && LOSSLESS+=(--only "$ONLY")
if [ $ENCODE -eq 1 ]; then ROWS=" (de|en)code "; else LOSSLESS+=(--no-encode); fi
echo "old: $OLD_LABEL; new: $NEW_LABEL; $ROUNDS alternations, medians of $RUNS calls (GB/s)"
for round in $(seq 1 "$ROUNDS"); do
  for side in old new; do
    echo "== $side, round $round"
    "$AB/$side-build/bench_gpu_lossless" "${LOSSLESS[@]}" 2>&1 | grep "^saraphis-gpu " | grep -E "$ROWS"
    [ $PADIC -eq 1 ] && "$AB/$side-build/bench_gpu_padic" --decode-only --eps 1e-3 --bytes 268435456 --runs "$RUNS" 2>&1 | grep "^saraphis-gpu "
  done
done
