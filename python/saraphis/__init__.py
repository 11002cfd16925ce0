"""Saraphis: lossless and error-bounded compression of neural-network tensors, on CPU threads and
on the GPU, with the same bytes either way; .sps files of many tensors; and the coordinator that
puts configuration, routing, status and statistics behind one entry point.

    import saraphis
    frame = saraphis.compress(weights)                       # lossless, every byte checksummed
    again = saraphis.decompress(frame, shape=weights.shape)
    frame = saraphis.compress(weights, error_bound=1e-3)     # |x' - x| <= 1e-3, guaranteed
    saraphis.save("model.sps", state_dict)                   # NumPy arrays or torch tensors
    state = saraphis.load("model.sps", like="torch")

A thin layer over the C library (include/saraphis.h) through ctypes: arrays are passed by address,
never copied on the way in, and every failure raises a SaraphisError subclass carrying the C
status code and a message that says what failed and where. docs/python.md has the whole API.
"""
from . import _native
from .codec import Codec, FrameInfo, compress, decompress, decompress_planes, frame_info
from .errors import (BadInputFormatError, BufferTooSmallError, ChecksumError, CorruptError,
                     DtypeError, GpuError, InvalidArgumentError, IOFailure, LimitError,
                     NotFoundError, OutOfMemoryError, SaraphisError, StateError, ThreadError,
                     TruncatedError, UnsupportedError)
from .files import SpsFile, TensorInfo, load, open, save  # noqa: A004 - saraphis.open on purpose
from .system import (Configuration, Result, System, SystemConfiguration,
                     create_compression_system, fields, load_compression_system)

__version__ = _native.version_string().decode()
library_path = _native.library_path


def gpu_available():
    """True when the library was built with CUDA and a CUDA device is visible."""
    return bool(_native.gpu_available())


__all__ = [
    "BadInputFormatError", "BufferTooSmallError", "ChecksumError", "Codec", "Configuration",
    "CorruptError", "DtypeError", "FrameInfo", "GpuError", "IOFailure", "InvalidArgumentError",
    "LimitError", "NotFoundError", "OutOfMemoryError", "Result", "SaraphisError", "SpsFile",
    "StateError", "System", "SystemConfiguration", "TensorInfo", "ThreadError", "TruncatedError",
    "UnsupportedError", "compress", "create_compression_system", "decompress",
    "decompress_planes", "fields", "frame_info", "gpu_available", "library_path", "load",
    "load_compression_system", "open", "save", "__version__",
]
