""".sps files (docs/format.md): many named tensors, every chunk and the index checksummed.

    saraphis.save("model.sps", {"w": w, "b": b}, metadata={"model": "mlp"})
    tensors = saraphis.load("model.sps")                 # {"w": array, "b": array}
    with saraphis.open("model.sps") as f:                # one tensor at a time, by name
        w = f.read("w")
        coarse, bound = f.read_planes("w", 1)            # progressive, bounded tensors only

Writes are atomic: the file is written under a temporary name, fsync'ed and renamed over the
destination, so a failed or interrupted save leaves what was there before.
"""
import ctypes
import os

import numpy as np

from . import _native
from . import _tensors
from .codec import Codec, _CODEC_NAMES
from .errors import InvalidArgumentError, StateError

_BOUND_MODE_NAMES = {1: "absolute", 2: "relative_range", 3: "relative_std"}


def _path(path):
    return os.fsencode(os.fspath(path))


def save(path, tensors, *, metadata=None, **settings):
    """Writes a dict of name -> array (NumPy, or torch on any device: CUDA tensors are copied to
    the host) to an .sps file. settings: those of saraphis.Codec (error_bound, threads, ...)."""
    if not hasattr(tensors, "items"):
        raise InvalidArgumentError(f"save: tensors must be a mapping of name -> array, not "
                                   f"{type(tensors).__name__}")
    with Codec(**settings) as codec:
        writer = ctypes.c_void_p()
        _native.check(_native.writer_open(ctypes.byref(writer), _path(path), codec._ctx),
                      f"save {os.fspath(path)}")
        try:
            for name, array in tensors.items():
                if not isinstance(name, str):
                    raise InvalidArgumentError(f"save: tensor names must be strings, not {name!r}")
                if _tensors.is_torch_tensor(array):
                    array = array.detach().cpu().contiguous()
                    dtype, shape = _tensors.dtype_name(array.dtype), tuple(array.shape)
                    address, size, keep = array.data_ptr(), array.numel() * array.element_size(), array
                else:
                    keep = np.asarray(array)
                    if not keep.flags.c_contiguous:  # (ascontiguousarray would make 0-d 1-d)
                        keep = np.ascontiguousarray(keep)
                    dtype, shape = _tensors.dtype_name(keep.dtype), keep.shape
                    address, size = keep.ctypes.data, keep.nbytes
                if len(shape) > _native.MAX_DIMS:
                    raise InvalidArgumentError(f"save: tensor '{name}' has {len(shape)} dimensions; "
                                               f"the format holds up to {_native.MAX_DIMS}")
                desc = _native.TensorDesc(name.encode("utf-8"), _tensors.DTYPE_CODES[dtype],
                                          len(shape))
                for axis, extent in enumerate(shape):
                    desc.shape[axis] = extent
                _native.check(_native.writer_add_tensor(writer, ctypes.byref(desc),
                                                        address if size else None, size),
                              f"save {os.fspath(path)}, tensor '{name}'")
                del keep
            for key, value in (metadata or {}).items():
                _native.check(_native.writer_set_metadata(writer, str(key).encode("utf-8"),
                                                          str(value).encode("utf-8")),
                              f"save {os.fspath(path)}, metadata '{key}'")
            _native.check(_native.writer_finish(writer), f"save {os.fspath(path)}")
        finally:
            _native.writer_free(writer)  # removes the temporary file unless finish succeeded


class TensorInfo:
    """An .sps index entry: name, dtype, shape, codec, sizes, and the bounded codec's figures."""

    def __init__(self, raw):
        self.name = raw.name.decode("utf-8")
        self.dtype = _tensors.DTYPE_NAMES.get(raw.dtype, "UNKNOWN")
        self.codec = _CODEC_NAMES.get(raw.codec, str(raw.codec))
        self.shape = tuple(int(raw.shape[axis]) for axis in range(raw.ndim))
        self.raw_size = raw.raw_size
        self.compressed_size = raw.compressed_size
        self.chunk_count = raw.chunk_count
        bounded = self.codec == "bounded"
        self.error_bound_mode = _BOUND_MODE_NAMES.get(raw.error_bound_mode) if bounded else None
        self.error_bound = raw.error_bound if bounded else None
        self.eps = raw.eps if bounded else None
        self.max_error = raw.max_error if bounded else None
        self.prime = raw.prime if bounded else None
        self.precision = raw.precision if bounded else None
        self.escapes = raw.escapes if bounded else None

    @property
    def ratio(self):
        return self.raw_size / self.compressed_size if self.compressed_size else 0.0

    def __repr__(self):
        extra = f", eps={self.eps:g}, max_error={self.max_error:g}" if self.eps is not None else ""
        return (f"TensorInfo(name={self.name!r}, dtype={self.dtype}, shape={self.shape}, "
                f"codec={self.codec}, ratio={self.ratio:.3f}{extra})")


class SpsFile(_native.Closeable):
    """An open .sps file. Tensors are read one at a time (only their chunks are read)."""

    def __init__(self, path, *, threads=0, verify_records=True):
        self.path = os.fspath(path)
        self._codec = Codec(threads=threads, verify_records=verify_records)
        self._reader = ctypes.c_void_p()
        try:
            _native.check(_native.reader_open(ctypes.byref(self._reader), _path(path),
                                              self._codec._ctx), f"open {self.path}")
        except BaseException:
            self._codec.close()
            raise
        count = _native.reader_tensor_count(self._reader)
        self._infos = []
        for index in range(count):
            raw = _native.TensorInfo()
            _native.check(_native.reader_tensor_info(self._reader, index, ctypes.byref(raw)),
                          f"{self.path}, tensor {index}")
            self._infos.append(TensorInfo(raw))
        self._index = {info.name: index for index, info in enumerate(self._infos)}
        self.metadata = {}
        for index in range(_native.reader_metadata_count(self._reader)):
            key, value = ctypes.c_char_p(), ctypes.c_char_p()
            _native.check(_native.reader_metadata(self._reader, index, ctypes.byref(key),
                                                  ctypes.byref(value)), f"{self.path}, metadata")
            self.metadata[key.value.decode("utf-8")] = value.value.decode("utf-8")

    def close(self):
        if getattr(self, "_reader", None):
            _native.reader_free(self._reader)
            self._reader = None
        if getattr(self, "_codec", None):
            self._codec.close()

    def __len__(self):
        return len(self._infos)

    def __iter__(self):
        return iter(self.names())

    def __contains__(self, name):
        return name in self._index

    def names(self):
        return [info.name for info in self._infos]

    def info(self, name):
        return self._infos[self._find(name)]

    def _find(self, name):
        if not self._reader:
            raise StateError(f"{self.path}: the file was closed")
        if name not in self._index:
            from .errors import NotFoundError
            raise NotFoundError(f"{self.path}: no tensor named '{name}'")
        return self._index[name]

    def read(self, name, *, like="numpy", device="cpu"):
        """One tensor, decoded and checked, in its stored shape."""
        array, _ = self._read(name, None, like, device)
        return array

    def read_planes(self, name, planes, *, like="numpy", device="cpu"):
        """A bounded tensor's top `planes` digit planes only, reading only their bytes from the
        file. Returns (array, bound): every finite element is within `bound` of the original."""
        if int(planes) < 0:
            raise InvalidArgumentError(f"planes must be >= 0, not {planes}")
        return self._read(name, int(planes), like, device)

    def _read(self, name, planes, like, device):
        index = self._find(name)
        info = self._infos[index]
        if like == "numpy" and str(device) != "cpu":
            raise InvalidArgumentError(f"like='numpy' reads to the CPU only, not to '{device}' "
                                       f"(use like='torch')")
        # Decoded on the host, then moved (the reader decodes on CPU threads).
        out = _tensors.empty(info.dtype, info.shape, like, "cpu")
        address = out.data_ptr() if _tensors.is_torch_tensor(out) else out.ctypes.data
        bound = ctypes.c_double(0.0)
        where = f"{self.path}, tensor '{name}'"
        if planes is not None:
            _native.check(_native.reader_read_tensor_planes(self._reader, index, planes,
                                                            address if info.raw_size else None,
                                                            info.raw_size, ctypes.byref(bound)),
                          where)
        else:
            _native.check(_native.reader_read_tensor(self._reader, index,
                                                     address if info.raw_size else None,
                                                     info.raw_size), where)
        if str(device) != "cpu":
            out = out.to(device)
        return out, bound.value

    def verify(self):
        """Checks every checksum of every tensor; raises on the first mismatch."""
        if not self._reader:
            raise StateError(f"{self.path}: the file was closed")
        _native.check(_native.reader_verify(self._reader), f"verify {self.path}")


def open(path, **options):  # noqa: A001 - saraphis.open mirrors the built-in on purpose
    """Opens an .sps file for reading (SpsFile; use it in a `with` block)."""
    return SpsFile(path, **options)


def load(path, names=None, *, like="numpy", device="cpu", threads=0):
    """Every tensor of an .sps file (or those in `names`) as a dict of name -> array."""
    with SpsFile(path, threads=threads) as sps:
        wanted = sps.names() if names is None else list(names)
        return {name: sps.read(name, like=like, device=device) for name in wanted}
