#!/usr/bin/env python3
"""nvCOMP ANS and Bitcomp on the same bytes as bench_gpu_lossless.c (which runs this script), in
the same table format. Needs the nvidia-nvcomp-cu13 wheel (carried in .whl/) and CuPy.

Data: the data section of each .bench/data/minilm_{bf16,f16,f32}.safetensors repeated to --bytes,
synthetic Gaussian weights when a file is missing. Times: CUDA events on the codec's stream around
encode() / decode() of the whole buffer (nvCOMP's native bitstream, default chunking), median of
--runs after two warm-ups. "of limit" uses the copy bandwidth the C benchmark measured."""
import argparse
import json
import os
import struct
import sys

import numpy as np
import cupy as cp
from nvidia import nvcomp

FILES = [("minilm_bf16", "BF16", 2), ("minilm_f16", "F16", 2), ("minilm_f32", "F32", 4)]


def load(folder, name, element, size):
    path = os.path.join(folder, name + ".safetensors")
    try:
        with open(path, "rb") as f:
            raw = f.read()
        n = struct.unpack("<Q", raw[:8])[0]
        json.loads(raw[8:8 + n])
        data = np.frombuffer(raw[8 + n:], dtype=np.uint8)
        data = data[: len(data) // element * element]
        synthetic = False
    except OSError:
        rng = np.random.default_rng(12345)
        w = (rng.standard_normal(size // 4, dtype=np.float32) * 0.02)
        if element == 2:
            data = (w.view(np.uint32) >> 16).astype(np.uint16).view(np.uint8) if name.endswith("bf16") \
                else w.astype(np.float16).view(np.uint8)
        else:
            data = w.view(np.uint8)
        synthetic = True
    reps = -(-size // len(data))
    return np.tile(data, reps)[:size], synthetic


def timed(fn, stream, runs):
    start, stop = cp.cuda.Event(), cp.cuda.Event()
    times, result = [], None
    for r in range(runs + 2):
        start.record(stream)
        result = fn()
        stop.record(stream)
        stop.synchronize()
        if r >= 2:
            times.append(cp.cuda.get_elapsed_time(start, stop))
    times.sort()
    mid = len(times) // 2
    return (times[mid] if len(times) % 2 else 0.5 * (times[mid - 1] + times[mid])), result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=".bench/data")
    parser.add_argument("--bytes", type=int, default=256 << 20)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--bandwidth", type=float, default=0.0, help="copy bandwidth (read + write), GB/s")
    args = parser.parse_args()
    stream = cp.cuda.Stream(non_blocking=True)
    for name, dtype, element in FILES:
        host, synthetic = load(args.data, name, element, args.bytes)
        device = cp.asarray(host)
        label_suffix = " (synth)" if synthetic else ""
        configs = [("nvcomp-ANS", dict(algorithm="ANS")),
                   ("nvcomp-Bitcomp", dict(algorithm="Bitcomp", data_type="<u2" if element == 2 else "<u4"))]
        for label, options in configs:
            try:
                with stream:
                    codec = nvcomp.Codec(cuda_stream=stream.ptr, **options)
                    array = nvcomp.as_array(device)
                    encode_ms, compressed = timed(lambda: codec.encode(array), stream, args.runs)
                    decode_ms, decoded = timed(lambda: codec.decode(compressed), stream, args.runs)
                    same = bool(cp.array_equal(cp.asarray(decoded).view(cp.uint8).ravel(), device))
                size = compressed.buffer_size
                ratio = args.bytes / size
                limit = args.bandwidth * args.bytes / (args.bytes + size) if args.bandwidth else float("nan")
                for op, ms in (("decode", decode_ms), ("encode", encode_ms)):
                    gbs = args.bytes / ms / 1e6
                    print(f"{label + label_suffix:<22} {dtype:<5} {op:<8} {gbs:9.1f} {100 * gbs / limit:8.1f}% {ratio:8.3f}  "
                          f"{'' if same else '[ROUND TRIP DIFFERS]'}")
            except Exception as error:  # a benchmark reports and goes on
                print(f"{label:<22} {dtype:<5} failed: {error!r}")
        sys.stdout.flush()
    # Every row is printed and flushed. nvCOMP's objects have crashed (a segmentation fault) when
    # released, here as main's locals go or in the interpreter's teardown, which read as a
    # failure: leave before either.
    os._exit(0)


if __name__ == "__main__":
    main()
