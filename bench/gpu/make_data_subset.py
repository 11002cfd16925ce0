#!/usr/bin/env python3
"""Writes smaller copies of the real-weight files for a GPU machine that can only be handed a few
tens of MB: .bench/gpu-data/minilm_{bf16,f16,f32}.safetensors, each holding whole
tensors (in file order, skipping any too big for what is left) of .bench/data/<same name> that fit a byte budget (data offsets rebased, header rebuilt).
The GPU tests and benchmark read SARAPHIS_GPU_DATA=.bench/gpu-data when scripts/gpu_test.sh finds
it. Usage: python3 bench/gpu/make_data_subset.py [--budget-mb bf16=14,f16=7,f32=7]"""
import argparse
import json
import os
import struct


def subset(source, target, budget):
    with open(source, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    tensors = sorted(((k, v) for k, v in header.items() if k != "__metadata__"), key=lambda kv: kv[1]["data_offsets"][0])
    out_header, chunks, at = {}, [], 0
    for name, entry in tensors:
        begin, end = entry["data_offsets"]
        if at + (end - begin) > budget:
            continue  # too big for what is left: try the smaller ones after it
        out_header[name] = {"dtype": entry["dtype"], "shape": entry["shape"], "data_offsets": [at, at + end - begin]}
        chunks.append(data[begin:end])
        at += end - begin
    text = json.dumps(out_header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(target, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))
    return len(out_header), at


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", default=".bench/data")
    parser.add_argument("--target", default=".bench/gpu-data")
    parser.add_argument("--budget-mb", default="bf16=14,f16=7,f32=7")
    args = parser.parse_args()
    os.makedirs(args.target, exist_ok=True)
    for item in args.budget_mb.split(","):
        kind, mb = item.split("=")
        name = f"minilm_{kind}.safetensors"
        count, size = subset(os.path.join(args.source, name), os.path.join(args.target, name), int(float(mb) * (1 << 20)))
        print(f"{name}: {count} tensors, {size} bytes")


if __name__ == "__main__":
    main()
