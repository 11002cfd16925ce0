"""The codecs through Python: exact round trips of every dtype, the error bound on every element,
progressive decodes, the same bytes whatever the thread count or the input's layout, and hostile
input (every byte flipped, every truncation) raising instead of returning wrong data."""
import threading

import ml_dtypes
import numpy as np
import pytest

import saraphis

FLOATS = [np.float32, np.float16, np.float64, ml_dtypes.bfloat16]
EXACT_ONLY = [ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2, np.int8, np.uint8, np.int16,
              np.uint16, np.int32, np.uint32, np.int64, np.uint64, np.bool_]


def bits(array):
    """The array's bytes, so that NaN payloads and -0.0 compare exactly."""
    return np.ascontiguousarray(array).view(np.uint8).tobytes()


def weights(rng, dtype, shape=(300, 257)):
    values = rng.normal(0, 0.02, shape)
    if np.dtype(dtype).kind == "b":
        return values > 0
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, -1000), min(info.max, 1000), shape).astype(dtype)
    return values.astype(dtype)


@pytest.mark.parametrize("dtype", FLOATS + EXACT_ONLY, ids=lambda d: np.dtype(d).name)
def test_lossless_round_trip_every_dtype(rng, dtype):
    data = weights(rng, dtype)
    frame = saraphis.compress(data)
    info = saraphis.frame_info(frame)
    assert info.raw_size == data.nbytes and info.compressed_size == len(frame)
    back = saraphis.decompress(frame, shape=data.shape)
    assert back.dtype == data.dtype and back.shape == data.shape
    assert bits(back) == bits(data)


def test_float_codec_compresses_weights(rng):
    data = weights(rng, np.float32, (1024, 1024))
    frame = saraphis.compress(data)
    assert saraphis.frame_info(frame).codec == "lossless"
    # Gaussian weights: the exponent channel carries ~3 bits of 8; the sign and mantissa ~24.
    assert 1.1 < data.nbytes / len(frame) < 1.35


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: np.dtype(d).name)
def test_special_values_exact(dtype):
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 1e-40, -1e-45, 6.0e4],
                        dtype=np.float64)
    data = np.tile(specials.astype(dtype), 100)
    for settings in ({}, {"error_bound": 1e-3}):
        back = saraphis.decompress(saraphis.compress(data, **settings), shape=data.shape)
        nonfinite = ~np.isfinite(data.astype(np.float64))
        assert bits(back[nonfinite]) == bits(data[nonfinite])
        if not settings:
            assert bits(back) == bits(data)


@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (3, 0, 5), (65537,), (2, 3, 4, 5, 6)])
def test_shapes(rng, shape):
    data = rng.normal(0, 1, shape).astype(np.float32)
    back = saraphis.decompress(saraphis.compress(data), shape=shape)
    assert back.shape == shape and bits(back) == bits(data)


@pytest.mark.parametrize("mode,bound", [("absolute", 1e-3), ("absolute", 1e-5),
                                        ("relative_range", 1e-3), ("relative_std", 0.05)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, ml_dtypes.bfloat16],
                         ids=lambda d: np.dtype(d).name)
def test_bounded_error_on_every_element(rng, dtype, mode, bound):
    data = weights(rng, dtype)
    frame = saraphis.compress(data, error_bound=bound, bound_mode=mode)
    back = saraphis.decompress(frame, shape=data.shape)
    wide, wide_back = data.astype(np.float64), back.astype(np.float64)
    eps = {"absolute": bound, "relative_range": bound * (wide.max() - wide.min()),
           "relative_std": bound * wide.std()}[mode]
    assert np.abs(wide_back - wide).max() <= eps
    assert len(frame) < data.nbytes


def test_bounded_beats_lossless_and_progressive_bounds_hold(rng):
    data = weights(rng, np.float32, (512, 512))
    lossless = saraphis.compress(data)
    frame = saraphis.compress(data, error_bound=1e-6)
    assert len(frame) < len(lossless)
    assert saraphis.frame_info(frame).codec == "bounded"
    previous = np.inf
    errors = []
    for planes in range(1, 8):
        coarse, bound = saraphis.decompress_planes(frame, planes, shape=data.shape)
        error = np.abs(coarse.astype(np.float64) - data).max()
        assert error <= bound, (planes, error, bound)
        assert bound <= previous
        previous = bound
        errors.append(error)
    assert errors[0] > errors[-1]
    assert previous == pytest.approx(1e-6)  # every plane: the bound asked for
    full, bound = saraphis.decompress_planes(frame, 0, shape=data.shape)
    assert bits(full) == bits(saraphis.decompress(frame, shape=data.shape)) and bound == 1e-6


def test_same_bytes_whatever_the_threads_and_layout(rng):
    data = weights(rng, np.float32, (700, 600))
    one = saraphis.compress(data, threads=1, chunk_bytes=64 * 1024)
    every = saraphis.compress(data, threads=0, chunk_bytes=64 * 1024)
    assert one == every
    strided = np.asfortranarray(data)[:, ::2]
    assert saraphis.compress(strided) == saraphis.compress(np.ascontiguousarray(strided))
    assert saraphis.compress(data.tobytes(), dtype="f32") == saraphis.compress(data)
    assert saraphis.compress(memoryview(data.tobytes()), dtype=np.float32) == saraphis.compress(data)


def test_codec_reuse_out_and_threads(rng):
    data = weights(rng, np.float32, (256, 256))
    with saraphis.Codec(error_bound=1e-4, threads=2) as codec:
        frames = [codec.compress(data) for _ in range(3)]
        assert frames[0] == frames[1] == frames[2]
        out = np.empty(data.size, np.float32)
        assert codec.decompress(frames[0], out=out) is out
        assert np.abs(out - data.ravel()).max() <= 1e-4
    with pytest.raises(saraphis.StateError):
        codec.compress(data)

    results = {}

    def work(index):
        with saraphis.Codec() as own:
            results[index] = own.compress(data + index)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index in range(8):
        assert results[index] == saraphis.compress(data + index)


def test_bad_arguments_raise_specific_errors(rng):
    data = weights(rng, np.float32)
    frame = saraphis.compress(data)
    with pytest.raises(saraphis.InvalidArgumentError, match="needs dtype"):
        saraphis.compress(b"\0" * 16)
    with pytest.raises(saraphis.DtypeError, match="unknown dtype 'f13'"):
        saraphis.compress(b"\0" * 16, dtype="f13")
    with pytest.raises(saraphis.DtypeError, match="complex128"):
        saraphis.compress(np.zeros(4, np.complex128))
    with pytest.raises(saraphis.DtypeError, match="not a whole number of F32 elements"):
        saraphis.compress(b"\0" * 6, dtype="f32")
    with pytest.raises(saraphis.InvalidArgumentError, match="dtype F16 given for data of dtype F32"):
        saraphis.compress(data, dtype="f16")
    with pytest.raises(saraphis.InvalidArgumentError, match="bound"):
        saraphis.compress(data, error_bound=-1)
    with pytest.raises(saraphis.InvalidArgumentError, match="prime"):
        saraphis.compress(data, error_bound=1e-3, prime=250)
    with pytest.raises(saraphis.InvalidArgumentError, match="bound_mode"):
        saraphis.compress(data, error_bound=1e-3, bound_mode="loose")
    with pytest.raises(saraphis.InvalidArgumentError, match="shape"):
        saraphis.decompress(frame, shape=(3, 3))
    with pytest.raises(saraphis.InvalidArgumentError, match="out: dtype F64"):
        saraphis.decompress(frame, out=np.empty(data.size, np.float64))
    with pytest.raises(saraphis.InvalidArgumentError, match="out: 5 elements"):
        saraphis.decompress(frame, out=np.empty(5, np.float32))
    with pytest.raises(saraphis.InvalidArgumentError, match="like"):
        saraphis.decompress(frame, like="jax")
    with pytest.raises(saraphis.InvalidArgumentError, match="expected bytes"):
        saraphis.decompress(12345)
    with pytest.raises(saraphis.InvalidArgumentError, match="keep_on_device is for CUDA"):
        saraphis.compress(data, keep_on_device=True)
    with pytest.raises(saraphis.InvalidArgumentError, match="CPU only"):
        saraphis.decompress(frame, device="cuda")


def test_every_flipped_byte_and_every_truncation_is_caught(rng):
    data = weights(rng, np.float32, (40, 50))
    for settings in ({}, {"error_bound": 1e-3}):
        frame = saraphis.compress(data, **settings)
        good = saraphis.decompress(frame, shape=data.shape)
        caught = 0
        for offset in range(len(frame)):
            damaged = bytearray(frame)
            damaged[offset] ^= 0x40
            try:
                back = saraphis.decompress(damaged, shape=data.shape)
            except saraphis.SaraphisError as error:
                assert error.name in ("checksum", "corrupt", "truncated", "unsupported"), error
                caught += 1
            else:  # never wrong data: a flip the checks let through changed nothing
                assert bits(back) == bits(good), f"offset {offset}"
        assert caught == len(frame)
        for length in range(len(frame)):
            with pytest.raises((saraphis.TruncatedError, saraphis.CorruptError,
                                saraphis.ChecksumError)):
                saraphis.decompress(frame[:length], shape=data.shape)


def test_real_weights_round_trip(real_weights):
    """all-MiniLM-L6-v2 in F32, BF16 and F16: exact lossless round trips; bounded within eps."""
    numpy_dtypes = {"F32": np.float32, "BF16": ml_dtypes.bfloat16, "F16": np.float16,
                    "I64": np.int64}
    for dtype_file, tensors in real_weights.items():
        raw_total = frame_total = 0
        for name, (dtype, shape, raw) in tensors.items():
            array = np.frombuffer(raw, dtype=numpy_dtypes[dtype]).reshape(shape)
            frame = saraphis.compress(array)
            assert bits(saraphis.decompress(frame, shape=shape)) == raw, name
            raw_total, frame_total = raw_total + len(raw), frame_total + len(frame)
            if dtype == "F32" and array.size > 1000:
                bounded = saraphis.decompress(saraphis.compress(array, error_bound=1e-3), shape)
                assert np.abs(bounded - array).max() <= 1e-3, name
        assert raw_total / frame_total > {"f32": 1.2, "bf16": 1.45, "f16": 1.15}[dtype_file]
