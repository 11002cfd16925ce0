#!/usr/bin/env python3
"""DFloat11 (the dfloat11 wheel, 0.5.0) on the BF16 bytes of bench_gpu_lossless.c (which runs this
script), in the same table format. DFloat11 codes BF16 only: the 8 exponent bits go through a
Huffman code, sign and mantissa are stored as they are. Needs the dfloat11 and dahuffman wheels
(carried in .whl/), PyTorch and CuPy.

Encode: DFloat11's own CPU encoder, called as its compress_model() calls it (get_codec,
get_32bit_codec, get_luts, encode_weights from dfloat11_utils.py). It is pure Python, too slow for
--bytes, so it encodes one copy of the data section once and the decode input is that stream
repeated. The copy is the longest prefix of the data section whose code ends exactly on a thread
block's boundary (512 threads x 8 bytes), so the copies follow each other with nothing between
them: the repeated stream is the one encode_weights() would write for the repeated prefix (gaps
repeat, output positions shift by one copy's element count) and decodes in one launch, as
DFloat11 decodes a whole transformer block's weights in one launch.

Decode: decode.ptx loaded with CuPy and launched with the arguments of dfloat11.py's decode hook
(dfloat11.py itself is not imported: it pulls in transformers and accelerate). Times: CUDA events
around that one launch, median of --runs after two warm-ups; GB/s of uncompressed bytes, which are
the copies needed to cover --bytes (reported in the note). The size counts every buffer the decoder
reads: Huffman codes, sign-and-mantissa bytes, gaps, output positions and look-up tables."""
import argparse
import contextlib
import importlib.util
import io
import json
import os
import struct
import sys
import time

BYTES_PER_THREAD = 8      # dfloat11.py's constants, which decode.ptx is built for
THREADS_PER_BLOCK = 512
BLOCK_BYTES = BYTES_PER_THREAD * THREADS_PER_BLOCK
LABEL = "dfloat11"


def skip(reason):
    print(f"{LABEL:<22} {'BF16':<5} skipped: {reason}")
    sys.exit(0)


def load_package():
    """dfloat11_utils and the path of decode.ptx, without running the package's __init__."""
    spec = importlib.util.find_spec("dfloat11")
    if spec is None or not spec.submodule_search_locations:
        skip("the dfloat11 wheel is not installed")
    folder = list(spec.submodule_search_locations)[0]
    ptx = os.path.join(folder, "decode.ptx")
    source = os.path.join(folder, "dfloat11_utils.py")
    if not os.path.exists(ptx) or not os.path.exists(source):
        skip(f"decode.ptx or dfloat11_utils.py missing from {folder}")
    os.environ.setdefault("TQDM_DISABLE", "1")
    try:
        module_spec = importlib.util.spec_from_file_location("dfloat11_utils", source)
        utils = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(utils)
    except Exception as error:  # torch, dahuffman or tqdm missing
        skip(f"cannot import dfloat11_utils: {error!r}")
    return utils, ptx


def load_bf16(folder, size, np):
    """The data section of minilm_bf16.safetensors as uint16 (whole, not repeated); synthetic
    Gaussian weights of min(size, 16 MiB) when the file is missing, as bench_nvcomp.py does."""
    try:
        with open(os.path.join(folder, "minilm_bf16.safetensors"), "rb") as f:
            raw = f.read()
        n = struct.unpack("<Q", raw[:8])[0]
        json.loads(raw[8:8 + n])
        data = np.frombuffer(raw[8 + n:], dtype=np.uint8)
        return data[: len(data) // 2 * 2].view(np.uint16), False
    except OSError:
        rng = np.random.default_rng(12345)
        w = rng.standard_normal(min(size, 16 << 20) // 2, dtype=np.float32) * 0.02
        return (w.view(np.uint32) >> 16).astype(np.uint16), True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=".bench/data")
    parser.add_argument("--bytes", type=int, default=256 << 20)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--bandwidth", type=float, default=0.0, help="copy bandwidth (read + write), GB/s")
    args = parser.parse_args()
    try:
        import numpy as np
        import cupy as cp
    except ImportError as error:
        skip(f"{error!r}")
    utils, ptx = load_package()
    import torch  # dfloat11_utils has just imported it

    try:
        decode = cp.RawModule(path=ptx).get_function("decode")
    except Exception as error:
        skip(f"decode.ptx does not load on this GPU: {error!r}")

    values, synthetic = load_bf16(args.data, args.bytes, np)
    label = LABEL + (" (synth)" if synthetic else "")

    # The codebook from the whole data section, as compress_model() builds it.
    quiet = contextlib.redirect_stdout(io.StringIO())
    with quiet, contextlib.redirect_stderr(io.StringIO()):
        weights = torch.from_numpy(values.view(np.int16).copy()).view(torch.bfloat16)
        _, counter = utils.get_codec(weights)
        codec, _, table = utils.get_32bit_codec(counter)
        luts = utils.get_luts(table).numpy()

    # The longest prefix whose code fills whole thread blocks.
    code_bits = np.zeros(256, dtype=np.int64)
    for symbol, (bits, _) in table.items():
        if isinstance(symbol, int):
            code_bits[symbol] = bits
    ends = np.cumsum(code_bits[(values >> 7) & 0xFF])
    whole = np.flatnonzero(ends % (8 * BLOCK_BYTES) == 0)
    if len(whole) == 0:
        skip(f"no prefix of the {values.nbytes} data bytes ends on a {BLOCK_BYTES}-byte block")
    count = int(whole[-1]) + 1
    prefix = values[:count]

    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        weights = torch.from_numpy(prefix.view(np.int16).copy()).view(torch.bfloat16)
        encoded, sign_mantissa, positions, gaps, _ = utils.encode_weights([weights], codec, BYTES_PER_THREAD, THREADS_PER_BLOCK)
    encode_s = time.perf_counter() - started
    encoded, sign_mantissa, gaps = (t.numpy().astype(np.uint8) for t in (encoded, sign_mantissa, gaps))
    positions = positions.numpy().astype(np.uint32)
    blocks = len(encoded) // BLOCK_BYTES
    if len(encoded) != blocks * BLOCK_BYTES or len(positions) != blocks + 1 or len(gaps) != blocks * THREADS_PER_BLOCK * 5 // 8:
        skip(f"encode_weights wrote a stream of an unexpected shape ({len(encoded)} bytes, {len(positions)} positions, "
             f"{len(gaps)} gap bytes for {blocks} blocks)")

    # Copies to cover --bytes; n_elements and the output positions are 32-bit in the kernel.
    copies = max(1, -(-args.bytes // prefix.nbytes))
    copies = min(copies, ((1 << 31) - 1) // count)
    elements = copies * count
    raw_bytes = 2 * elements
    stream_positions = np.concatenate([positions[:-1] + np.uint32(k * count) for k in range(copies)]
                                      + [np.array([elements], dtype=np.uint32)])
    compressed_bytes = copies * (encoded.nbytes + sign_mantissa.nbytes + gaps.nbytes) + stream_positions.nbytes + luts.nbytes
    # The kernel reads one gap byte past the last thread's (dfloat11.py's tensors have slack there).
    device_gaps = cp.asarray(np.concatenate([np.tile(gaps, copies), np.zeros(8, dtype=np.uint8)]))
    device_codes = cp.asarray(np.tile(encoded, copies))
    device_sign_mantissa = cp.asarray(np.tile(sign_mantissa, copies))
    device_positions = cp.asarray(stream_positions)
    device_luts = cp.asarray(luts)
    expected = cp.asarray(np.tile(prefix, copies))
    output = cp.zeros(elements, dtype=cp.uint16)

    shared = THREADS_PER_BLOCK * 4 + 4 + int(np.diff(positions.astype(np.int64)).max()) * 2
    if shared > 48 * 1024:
        decode.max_dynamic_shared_size_bytes = shared
    grid = (copies * blocks,)
    arguments = (device_luts, device_codes, device_sign_mantissa, device_positions, device_gaps, output,
                 np.int32(luts.shape[0]), np.int32(copies * encoded.nbytes), np.int32(elements))
    stream = cp.cuda.Stream(non_blocking=True)
    start, stop = cp.cuda.Event(), cp.cuda.Event()
    times = []
    try:
        for run in range(args.runs + 2):
            start.record(stream)
            decode(grid=grid, block=(THREADS_PER_BLOCK,), args=arguments, shared_mem=shared, stream=stream)
            stop.record(stream)
            stop.synchronize()
            if run >= 2:
                times.append(cp.cuda.get_elapsed_time(start, stop))
    except Exception as error:
        skip(f"the decode kernel failed: {error!r}")
    exact = bool(cp.array_equal(output, expected))
    times.sort()
    mid = len(times) // 2
    ms = times[mid] if len(times) % 2 else 0.5 * (times[mid - 1] + times[mid])

    ratio = raw_bytes / compressed_bytes
    limit = args.bandwidth * raw_bytes / (raw_bytes + compressed_bytes) if args.bandwidth else float("nan")
    gbs = raw_bytes / ms / 1e6
    note = (f"one launch over {copies} x {prefix.nbytes / 1e6:.2f} MB = {raw_bytes / 2**20:.1f} MiB; "
            f"CPU encode of one copy {encode_s:.0f} s")
    print(f"{label:<22} {'BF16':<5} {'decode':<8} {gbs:9.1f} {100 * gbs / limit:8.1f}% {ratio:8.3f}  {note}"
          f"{'' if exact else ' [OUTPUT DIFFERS]'}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
    # Every row is printed and flushed; the peers' libraries have crashed or printed CUDA errors
    # while the interpreter tore them down, which read as failures. Leave without the teardown.
    sys.stdout.flush()
    os._exit(0)
