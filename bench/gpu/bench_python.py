#!/usr/bin/env python3
"""What the Python package costs over the C library, on the GPU, and what it gives a PyTorch user.

For each of BF16, F16 and F32 (the data section of .bench/data/minilm_*.safetensors, or the folder
in SARAPHIS_GPU_DATA, repeated to --bytes; synthetic Gaussian weights when a file is missing), in
one run on the same bytes:
  - a device-to-device copy (torch clone): the ceiling;
  - the C decoder called straight through ctypes (saraphis_gpu_decompress, no Python layer);
  - saraphis.Codec.decompress of a frame already on the device into a preallocated CUDA tensor;
  - the same into a new tensor (the allocation included, through PyTorch's caching allocator);
  - decode of a frame in host memory (pinned by PyTorch) into a CUDA tensor: the bus carries the
    compressed bytes;
  - the C encoder alone (saraphis_gpu_compress, device to device); Codec.compress of a CUDA
    tensor with the frame kept on the device; and to bytes in host memory (the frame's copy back
    and the bytes object included: bound by host memory, not by the codec).
GB/s of uncompressed bytes; CUDA events around each call on PyTorch's current stream; the median
of --runs after two warm-ups. Needs PyTorch with CUDA and a CUDA build of libsaraphis
(SARAPHIS_LIBRARY, or the package installed by pip on the GPU machine). A benchmark: it measures
and never fails (exit 0 unless nothing could run).

    SARAPHIS_LIBRARY=build-gpu/libsaraphis.so PYTHONPATH=python python3 bench/gpu/bench_python.py
"""
import argparse
import ctypes
import json
import os
import pathlib
import struct
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

FILES = [("minilm_bf16", "bfloat16"), ("minilm_f16", "float16"), ("minilm_f32", "float32")]


def load(folder, name, size):
    path = pathlib.Path(folder) / f"{name}.safetensors"
    if path.exists():
        raw = path.read_bytes()
        length = struct.unpack("<Q", raw[:8])[0]
        json.loads(raw[8:8 + length])
        data = np.frombuffer(raw[8 + length:], dtype=np.uint8)
        synthetic = False
    else:
        data = (np.random.default_rng(1).standard_normal(1 << 22) * 0.02).astype(np.float32)
        data = data.view(np.uint8)
        synthetic = True
    return np.tile(data, -(-size // len(data)))[:size], synthetic


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bytes", type=int, default=256 << 20)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    import torch
    import saraphis
    from saraphis import _native
    if not (torch.cuda.is_available() and saraphis.gpu_available()):
        print("bench_python: needs a CUDA device and a CUDA build of libsaraphis; nothing measured")
        return 0
    folder = os.environ.get("SARAPHIS_GPU_DATA", str(ROOT / ".bench" / "data"))
    stream = torch.cuda.current_stream()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def timed(call):
        times = []
        for run in range(args.runs + 2):
            start.record(stream)
            call()
            stop.record(stream)
            stop.synchronize()
            if run >= 2:
                times.append(start.elapsed_time(stop))
        return float(np.median(times))

    print(f"device: {torch.cuda.get_device_name()}; {args.bytes >> 20} MiB per tensor; medians "
          f"of {args.runs}; library {saraphis.library_path}")
    print(f"{'what':58s} {'dtype':5s} {'GB/s':>8s} {'vs C':>7s}  ratio")
    for name, dtype_name in FILES:
        data, synthetic = load(folder, name, args.bytes)
        dtype = getattr(torch, dtype_name)
        host = torch.from_numpy(data.copy()).view(dtype)
        tensor = host.cuda()
        label = {"bfloat16": "BF16", "float16": "F16", "float32": "F32"}[dtype_name]
        size = tensor.numel() * tensor.element_size()
        gbs = lambda ms: size / ms / 1e6  # noqa: E731
        copy_ms = timed(lambda: tensor.clone())
        with saraphis.Codec() as codec:
            frame = codec.compress(tensor)
            ratio = size / len(frame)
            device_frame = torch.frombuffer(bytearray(frame), dtype=torch.uint8).cuda()
            pinned_frame = torch.frombuffer(bytearray(frame), dtype=torch.uint8).pin_memory()
            out = torch.empty_like(tensor)
            written = ctypes.c_size_t(0)
            stream_handle = ctypes.c_void_p(stream.cuda_stream)

            def raw_decode():
                _native.check(_native.gpu_decompress(codec._ctx, device_frame.data_ptr(), len(frame),
                                                     out.data_ptr(), size, ctypes.byref(written),
                                                     stream_handle))

            raw_ms = timed(raw_decode)
            rows = [("device-to-device copy (torch clone): the ceiling", copy_ms, None)]
            rows.append(("C decoder through ctypes (saraphis_gpu_decompress)", raw_ms, raw_ms))
            rows.append(("Codec.decompress, device frame, out= given",
                         timed(lambda: codec.decompress(device_frame, out=out)), raw_ms))
            rows.append(("Codec.decompress, device frame, new tensor",
                         timed(lambda: codec.decompress(device_frame, like="torch",
                                                        device="cuda")), raw_ms))
            rows.append(("Codec.decompress, pinned host frame -> CUDA tensor (bus)",
                         timed(lambda: codec.decompress(pinned_frame, out=out)), None))
            capacity = _native.compress_bound(size, 0)
            frame_out = torch.empty(capacity, dtype=torch.uint8, device="cuda")
            code = saraphis._tensors.DTYPE_CODES[label]

            def raw_encode():
                _native.check(_native.gpu_compress(codec._ctx, code, tensor.data_ptr(), size,
                                                   frame_out.data_ptr(), capacity,
                                                   ctypes.byref(written), stream_handle))

            raw_encode_ms = timed(raw_encode)
            rows.append(("C encoder through ctypes (saraphis_gpu_compress)", raw_encode_ms,
                         raw_encode_ms))
            rows.append(("Codec.compress, CUDA tensor, keep_on_device=True",
                         timed(lambda: codec.compress(tensor, keep_on_device=True)), raw_encode_ms))
            rows.append(("Codec.compress, CUDA tensor -> bytes (frame copied back)",
                         timed(lambda: codec.compress(tensor)), None))
            same = saraphis.decompress(frame, like="torch").view(torch.uint8).equal(
                host.view(torch.uint8).reshape(-1))
        for what, ms, reference in rows:
            versus = f"{reference / ms:6.2f}x" if reference else "      -"
            print(f"{what:58s} {label:5s} {gbs(ms):8.1f} {versus}  {ratio:.3f}"
                  f"{'  (synthetic data)' if synthetic else ''}")
        if not same:
            print(f"  [{label}: THE DECODED BYTES DIFFER FROM THE INPUT]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
