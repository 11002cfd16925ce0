"""Shared fixtures: seeded data, and the real model's weights (.bench/data, made by bench/setup.sh)
when present. SARAPHIS_REQUIRE_REAL_DATA=1 (set by scripts/test.sh) turns their absence into a
failure instead of a skip."""
import json
import os
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = pathlib.Path(os.environ.get("SARAPHIS_DATA", ROOT / ".bench" / "data"))


@pytest.fixture
def rng():
    return np.random.default_rng(20261127)


def read_safetensors(path):
    """name -> (dtype name, shape, raw bytes) of a safetensors file (a JSON header, then data)."""
    blob = path.read_bytes()
    length = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + length])
    header.pop("__metadata__", None)
    data = blob[8 + length:]
    return {name: (entry["dtype"], tuple(entry["shape"]),
                   data[entry["data_offsets"][0]:entry["data_offsets"][1]])
            for name, entry in header.items()}


@pytest.fixture
def real_weights():
    """The F32 and BF16 files of all-MiniLM-L6-v2, or a skip (a failure when required)."""
    files = {dtype: DATA / f"minilm_{dtype}.safetensors" for dtype in ("f32", "bf16", "f16")}
    missing = [str(path) for path in files.values() if not path.exists()]
    if missing:
        if os.environ.get("SARAPHIS_REQUIRE_REAL_DATA") == "1":
            pytest.fail(f"real weights missing: {', '.join(missing)} (run bench/setup.sh)")
        pytest.skip(f"real weights missing: {', '.join(missing)}")
    return {dtype: read_safetensors(path) for dtype, path in files.items()}
