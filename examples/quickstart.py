"""The seeds' Quick Start, in Python, as it runs with Saraphis (examples/quickstart.c is the same
in C). Run: python examples/quickstart.py [work-dir]   (after `pip install .`; or with
PYTHONPATH=python and SARAPHIS_LIBRARY=build-release/libsaraphis.so). Uses PyTorch when it is
installed, NumPy otherwise. Exit status 0 when every step did what the guide says; the round trip
is checked bit for bit (tests/python/test_examples.py runs it)."""
import os
import sys
import tempfile

import numpy as np

import saraphis

try:
    import torch
except ImportError:
    torch = None

work = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="saraphis-quickstart-")

# Basic usage: create a system with the default configuration, compress, decompress.
system = saraphis.create_compression_system()
if torch is not None:
    tensor = torch.randn(1000, 1000)
else:
    tensor = np.random.default_rng(0).standard_normal((1000, 1000), dtype=np.float32)
result = system.compress(tensor)
print(f"Compression ratio: {result.compression_ratio:.2f}x")
print(f"Processing mode: {result.processing_mode}")
decompressed = system.decompress(result)
same = (torch.equal(decompressed, tensor) if torch is not None
        else np.array_equal(decompressed, tensor))
print(f"Round trip exact: {same}")

# Custom configuration, saved to a file and loaded back.
config = saraphis.SystemConfiguration(
    gpu_memory_limit_mb=4096,
    enable_smart_pool=True,
    enable_auto_swap=True,
    enable_cpu_bursting=True,
    optimization_strategy="throughput",
    prime=251,
)
path = os.path.join(work, "compression_config.json")
config.save(path)
custom = saraphis.load_compression_system(path)

# Priorities and metadata; the bounded codec through a Codec of its own.
result = custom.compress(tensor, priority="critical",
                         metadata={"model_name": "transformer", "layer": 12})
print(f"Critical request: {result.codec}, {result.compression_ratio:.2f}x, "
      f"metadata {result.metadata}")
frame = saraphis.compress(tensor, error_bound=1e-3)
bounded = saraphis.decompress(frame, shape=tuple(tensor.shape), like="torch" if torch else "numpy")
error = float(abs(bounded - tensor).max())
raw_bytes = tensor.numel() * tensor.element_size() if torch is not None else tensor.nbytes
print(f"Bounded (eps 1e-3): {raw_bytes / len(frame):.2f}x, max error {error:.3g}")

# Monitoring, then a clean shutdown.
status = custom.get_system_status()
print(f"State: {status['state']}; total compressions: "
      f"{status['statistics']['total_compressions']}")
for handle in (custom, system):
    handle.shutdown()
    handle.close()
sys.exit(0 if same and error <= 1e-3 and status["state"] == "running" else 1)
