""".sps files through Python: round trips with shapes and metadata, index facts, progressive reads,
atomic writes (a failed save leaves the old file), and damage caught on read and verify."""
import os

import ml_dtypes
import numpy as np
import pytest

import saraphis


@pytest.fixture
def tensors(rng):
    return {
        "encoder.weight": rng.normal(0, 0.02, (128, 96)).astype(np.float32),
        "encoder.bias": rng.normal(0, 0.1, (96,)).astype(np.float16),
        "embed": rng.normal(0, 1, (64, 32)).astype(ml_dtypes.bfloat16),
        "steps": np.arange(10, dtype=np.int64),
        "scalar": np.array(3.5, dtype=np.float64),
    }


def test_save_load_round_trip(tmp_path, tensors):
    path = tmp_path / "model.sps"
    saraphis.save(path, tensors, metadata={"model": "mlp", "epoch": 3})
    loaded = saraphis.load(path)
    assert list(loaded) == list(tensors)
    for name, array in tensors.items():
        assert loaded[name].dtype == array.dtype and loaded[name].shape == array.shape
        assert loaded[name].tobytes() == array.tobytes(), name
    with saraphis.open(path) as sps:
        assert sps.metadata == {"model": "mlp", "epoch": "3"}
        assert len(sps) == 5 and "embed" in sps and "missing" not in sps
        info = sps.info("encoder.weight")
        assert (info.dtype, info.shape, info.codec) == ("F32", (128, 96), "lossless")
        assert info.raw_size == tensors["encoder.weight"].nbytes and info.eps is None
        assert sps.info("steps").dtype == "I64"
        sps.verify()
        with pytest.raises(saraphis.NotFoundError, match="no tensor named 'missing'"):
            sps.read("missing")
    assert list(saraphis.load(path, names=["embed"])) == ["embed"]


def test_bounded_file_and_progressive_reads(tmp_path, rng):
    weight = rng.normal(0, 0.02, (256, 256)).astype(np.float32)
    path = tmp_path / "bounded.sps"
    saraphis.save(path, {"w": weight, "ids": np.arange(5, dtype=np.int32)}, error_bound=1e-6)
    with saraphis.open(path) as sps:
        info = sps.info("w")
        assert info.codec == "bounded" and info.eps == pytest.approx(1e-6)
        assert info.max_error <= info.eps and info.precision >= 2
        assert sps.info("ids").codec == "lossless"  # integers are never approximated
        full = sps.read("w")
        assert np.abs(full - weight).max() <= 1e-6
        coarse, bound = sps.read_planes("w", 1)
        assert bound > 1e-6 and np.abs(coarse - weight).max() <= bound
        again, bound = sps.read_planes("w", 0)
        assert bound == pytest.approx(1e-6) and again.tobytes() == full.tobytes()
        with pytest.raises(saraphis.InvalidArgumentError, match="planes"):
            sps.read_planes("w", -1)


def test_failed_save_leaves_the_old_file(tmp_path, tensors):
    path = tmp_path / "model.sps"
    saraphis.save(path, tensors)
    before = path.read_bytes()
    with pytest.raises(saraphis.DtypeError):
        saraphis.save(path, {"ok": np.zeros(4, np.float32), "bad": np.zeros(4, np.complex64)})
    with pytest.raises(saraphis.InvalidArgumentError, match="names must be strings"):
        saraphis.save(path, {"ok": np.zeros(4, np.float32), 7: np.zeros(4, np.float32)})
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.sps"]  # no temporary file left behind
    with pytest.raises(saraphis.IOFailure, match="nowhere"):
        saraphis.save(tmp_path / "nowhere" / "x.sps", tensors)


def test_damage_is_caught(tmp_path, tensors):
    path = tmp_path / "model.sps"
    saraphis.save(path, tensors)
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 3] ^= 0x10  # inside the first tensor's records
    damaged = tmp_path / "damaged.sps"
    damaged.write_bytes(bytes(blob))
    with saraphis.open(damaged) as sps:
        with pytest.raises(saraphis.ChecksumError, match="damaged.sps"):
            sps.verify()
    with pytest.raises((saraphis.ChecksumError, saraphis.CorruptError)):
        saraphis.load(damaged)
    truncated = tmp_path / "truncated.sps"
    truncated.write_bytes(path.read_bytes()[:-9])
    with pytest.raises(saraphis.SaraphisError, match="truncated.sps"):
        saraphis.open(truncated)
    with pytest.raises(saraphis.IOFailure):
        saraphis.open(tmp_path / "absent.sps")
    not_sps = tmp_path / "not.sps"
    not_sps.write_bytes(b"hello" * 100)
    with pytest.raises((saraphis.CorruptError, saraphis.TruncatedError)):
        saraphis.open(not_sps)


def test_closed_file_refuses(tmp_path, tensors):
    path = tmp_path / "model.sps"
    saraphis.save(path, tensors)
    sps = saraphis.open(path)
    sps.close()
    sps.close()  # idempotent
    with pytest.raises(saraphis.StateError):
        sps.read("embed")
