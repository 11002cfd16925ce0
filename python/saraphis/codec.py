"""One tensor <-> one frame (docs/format.md): the lossless codec and the bounded (p-adic) one, on
CPU threads or, for PyTorch CUDA tensors, on the GPU, with the same bytes either way.

    frame = saraphis.compress(weights)                         # lossless
    frame = saraphis.compress(weights, error_bound=1e-3)       # |x' - x| <= 1e-3 for every element
    again = saraphis.decompress(frame, shape=weights.shape)
    coarse, bound = saraphis.decompress_planes(frame, 1)       # the top digit plane only

A Codec keeps its settings and the C context (with its threads and device scratch) between calls;
the module functions make one per call. A Codec is used by one thread at a time: its calls hold a
lock, so threads sharing one wait for each other (make one per thread to run them side by side).
"""
import ctypes
import threading

import numpy as np

from . import _native
from . import _tensors
from .errors import InvalidArgumentError, UnsupportedError

_PARAM_CODEC, _PARAM_CHUNK_BYTES, _PARAM_THREADS = 1, 2, 3
_PARAM_CONTENT_CHECKSUM, _PARAM_VERIFY_RECORDS = 4, 5
_CODECS = {"lossless": 1, "stored": 2, "bounded": 3}
_CODEC_NAMES = {code: name for name, code in _CODECS.items()}
_BOUND_MODES = {"absolute": 1, "relative_range": 2, "relative_std": 3}


class FrameInfo:
    """What a frame's header says: dtype, codec, raw and compressed sizes, chunks."""

    def __init__(self, raw):
        self.dtype = _tensors.DTYPE_NAMES.get(raw.dtype, "UNKNOWN")
        self.codec = _CODEC_NAMES.get(raw.codec, str(raw.codec))
        self.raw_size = raw.raw_size
        self.compressed_size = raw.compressed_size
        self.chunk_count = raw.chunk_count
        self.chunk_bytes = raw.chunk_bytes

    @property
    def ratio(self):
        return self.raw_size / self.compressed_size if self.compressed_size else 0.0

    def __repr__(self):
        return (f"FrameInfo(dtype={self.dtype}, codec={self.codec}, raw_size={self.raw_size}, "
                f"compressed_size={self.compressed_size}, chunk_count={self.chunk_count}, "
                f"chunk_bytes={self.chunk_bytes})")


def _host_bytes(frame, what):
    """A uint8 NumPy view of a bytes-like frame (no copy) and its address."""
    if _tensors.is_torch_tensor(frame):
        if frame.device.type != "cpu":
            raise InvalidArgumentError(f"{what}: a frame on '{frame.device}' here; this call "
                                       f"takes host memory")
        frame = frame.contiguous().numpy()
    if isinstance(frame, np.ndarray):
        view = np.ascontiguousarray(frame).reshape(-1).view(np.uint8)
    else:
        try:
            view = np.frombuffer(memoryview(frame).cast("B"), dtype=np.uint8)
        except TypeError:
            raise InvalidArgumentError(f"{what}: expected bytes, bytearray, memoryview or a uint8 "
                                       f"array, got {type(frame).__name__}") from None
    # An empty frame still gets an address, so that the library reports it as truncated.
    return view, (view.ctypes.data or ctypes.addressof(_EMPTY))


_EMPTY = ctypes.create_string_buffer(1)


def frame_info(frame):
    """The header facts of a frame (no decoding; the header's checksum is verified)."""
    view, address = _host_bytes(frame, "frame_info")
    info = _native.FrameInfo()
    _native.check(_native.frame_info(address, view.size, ctypes.byref(info)), "frame_info")
    return FrameInfo(info)


def _cuda_stream(tensor):
    import torch
    return ctypes.c_void_p(torch.cuda.current_stream(tensor.device).cuda_stream)


class Codec(_native.Closeable):
    """Settings and a C context, reused across calls.

    error_bound: None (lossless) or a positive number; bound_mode "absolute" (eps = error_bound),
    "relative_range" (eps = error_bound x the tensor's max - min) or "relative_std" (x its standard
    deviation); prime (2..251, 0 = 251) and precision (0 = as few digits as the data needs) are the
    p-adic codec's (docs/padic.md). threads: 0 = all cores. chunk_bytes: raw bytes per independent
    chunk (None = 256 KiB). content_checksum: also checksum the decoded bytes (default True).
    verify_records: on decode, verify every record's checksum as well as the content checksum
    (True, the default) or the content checksum alone (docs/gpu.md gives the speed).
    """

    def __init__(self, *, error_bound=None, bound_mode="absolute", prime=0, precision=0,
                 threads=0, chunk_bytes=None, content_checksum=True, verify_records=True,
                 codec=None):
        self._lock = threading.Lock()
        self._ctx = _native.ctx_create()
        if not self._ctx:
            raise MemoryError("saraphis: cannot create a codec context")
        try:
            self._set(_PARAM_THREADS, int(threads), "threads")
            if chunk_bytes is not None:
                self._set(_PARAM_CHUNK_BYTES, int(chunk_bytes), "chunk_bytes")
            self._set(_PARAM_CONTENT_CHECKSUM, 1 if content_checksum else 0, "content_checksum")
            self._set(_PARAM_VERIFY_RECORDS, 1 if verify_records else 0, "verify_records")
            if codec is not None:
                if codec not in _CODECS:
                    raise InvalidArgumentError(f"codec must be one of {', '.join(_CODECS)}, "
                                               f"not {codec!r}")
                if codec == "bounded" and error_bound is None:
                    raise InvalidArgumentError("codec 'bounded' needs an error_bound")
                self._set(_PARAM_CODEC, _CODECS[codec], "codec")
            if error_bound is not None:
                if codec not in (None, "bounded"):
                    raise InvalidArgumentError(f"error_bound is for the bounded codec, not "
                                               f"'{codec}'")
                if bound_mode not in _BOUND_MODES:
                    raise InvalidArgumentError(f"bound_mode must be one of "
                                               f"{', '.join(_BOUND_MODES)}, not {bound_mode!r}")
                _native.check(_native.ctx_set_error_bound(
                    self._ctx, _BOUND_MODES[bound_mode], float(error_bound), int(prime),
                    int(precision)), "error_bound")
        except BaseException:
            self.close()
            raise

    def _set(self, param, value, name):
        _native.check(_native.ctx_set_param(self._ctx, param, value), name)

    def close(self):
        """Frees the context (its threads and device scratch). Idempotent."""
        if getattr(self, "_ctx", None):
            _native.ctx_free(self._ctx)
            self._ctx = None

    def _context(self):
        if not self._ctx:
            from .errors import StateError
            raise StateError("this Codec was closed")
        return self._ctx

    def compress(self, data, dtype=None, *, keep_on_device=False):
        """The frame of one tensor, as bytes.

        data: a NumPy array, a torch tensor (CPU: encoded on CPU threads; CUDA: encoded on the
        GPU, the same bytes), or bytes-like with `dtype` (a name such as "bf16", or a NumPy or
        torch dtype). Strided arrays are made contiguous first. Only the dtype travels in the
        frame: keep the shape to decode with it. keep_on_device (CUDA tensors): return the frame
        as a 1-D uint8 CUDA tensor instead, never copied to the host (decompress takes it as is).
        """
        if _tensors.is_torch_tensor(data) and data.device.type == "cuda":
            return self._compress_cuda(data, dtype, keep_on_device)
        if keep_on_device:
            raise InvalidArgumentError("compress: keep_on_device is for CUDA tensors")
        if _tensors.is_torch_tensor(data):
            name = _tensors.dtype_name(data.dtype)
            source = data.contiguous()
            keep, address, size = source, source.data_ptr(), source.numel() * source.element_size()
        elif isinstance(data, np.ndarray):
            name = _tensors.dtype_name(data.dtype)
            keep = np.ascontiguousarray(data)
            address, size = keep.ctypes.data, keep.nbytes
        else:
            if dtype is None:
                raise InvalidArgumentError("compress: bytes-like input needs dtype= (\"f32\", "
                                           "\"bf16\", ...)")
            name = _tensors.dtype_name(dtype)
            keep, address = _host_bytes(data, "compress")
            size = keep.size
        if dtype is not None and _tensors.dtype_name(dtype) != name:
            raise InvalidArgumentError(f"compress: dtype {_tensors.dtype_name(dtype)} given for "
                                       f"data of dtype {name}")
        with self._lock:
            ctx = self._context()
            capacity = _native.compress_bound(size, 0)
            out = np.empty(capacity, dtype=np.uint8)
            written = ctypes.c_size_t(0)
            _native.check(_native.compress(ctx, _tensors.DTYPE_CODES[name], address if size else None,
                                           size, out.ctypes.data, capacity,
                                           ctypes.byref(written)), "compress")
        return out[:written.value].tobytes()

    def _compress_cuda(self, data, dtype, keep_on_device):
        import torch
        name = _tensors.dtype_name(data.dtype)
        if dtype is not None and _tensors.dtype_name(dtype) != name:
            raise InvalidArgumentError(f"compress: dtype {_tensors.dtype_name(dtype)} given for "
                                       f"data of dtype {name}")
        source = data.contiguous()
        size = source.numel() * source.element_size()
        capacity = _native.compress_bound(size, 0)
        with torch.cuda.device(source.device):
            out = torch.empty(capacity, dtype=torch.uint8, device=source.device)
            written = ctypes.c_size_t(0)
            with self._lock:
                _native.check(_native.gpu_compress(
                    self._context(), _tensors.DTYPE_CODES[name], source.data_ptr() if size else None,
                    size, out.data_ptr(), capacity, ctypes.byref(written), _cuda_stream(source)),
                    "compress (GPU)")
            if keep_on_device:  # a copy of the frame's own size, so the bound's slack is freed
                return out[:written.value].clone()
            # Through pinned memory (PyTorch caches its blocks): a pageable copy runs at a few
            # GB/s on some machines.
            staging = torch.empty(written.value, dtype=torch.uint8, pin_memory=True)
            staging.copy_(out[:written.value])
            return staging.numpy().tobytes()

    def decompress(self, frame, shape=None, *, like="numpy", device="cpu", out=None):
        """Decodes a frame into a new array (or into `out`).

        shape: the array's shape (default 1-D; its element count must be the frame's). like:
        "numpy" or "torch". device: "cpu", or "cuda"/"cuda:N" (torch; decoded on the GPU; a frame
        in host memory crosses the bus compressed). out: an existing NumPy array or torch tensor
        (contiguous, the frame's dtype and element count) to decode into.
        """
        array, _ = self._decode(frame, shape, like, device, out, None)
        return array

    def decompress_planes(self, frame, planes, shape=None, *, like="numpy", device="cpu", out=None):
        """Decodes only the top `planes` digit planes of each bounded chunk (progressive
        precision; 0 = all). Returns (array, bound): every finite element is then within `bound`
        of the original (0.0 for a frame with no bounded chunk)."""
        if int(planes) < 0:
            raise InvalidArgumentError(f"planes must be >= 0, not {planes}")
        return self._decode(frame, shape, like, device, out, int(planes))

    def _decode(self, frame, shape, like, device, out, planes):
        """planes None: a plain decode; an int: a progressive one (0 = every plane), with its
        bound."""
        if _tensors.is_torch_tensor(frame) and frame.device.type == "cuda":
            info = self._device_frame_info(frame)
        else:
            info = frame_info(frame)
        itemsize = _native.dtype_size(_tensors.DTYPE_CODES.get(info.dtype, 0))
        if not itemsize:
            raise UnsupportedError(f"decompress: the frame's dtype {info.dtype} is unknown here")
        elements = info.raw_size // itemsize
        if out is None:
            shape = _tensors.check_shape(shape, elements, "decompress")
            target_device = str(device)
            out = _tensors.empty(info.dtype, shape, like, target_device)
        else:
            self._check_out(out, info, elements)
        on_cuda = _tensors.is_torch_tensor(out) and out.device.type == "cuda"
        bound = ctypes.c_double(0.0)
        written = ctypes.c_size_t(0)
        capacity = info.raw_size
        with self._lock:
            ctx = self._context()
            if on_cuda:
                self._decode_cuda(ctx, frame, out, capacity, written, planes, bound)
            else:
                view, address = _host_bytes(frame, "decompress")
                target = out.data_ptr() if _tensors.is_torch_tensor(out) else out.ctypes.data
                if planes is not None:
                    status = _native.decompress_planes(ctx, address, view.size, planes, target,
                                                       capacity, ctypes.byref(written),
                                                       ctypes.byref(bound))
                else:
                    status = _native.decompress(ctx, address, view.size, target, capacity,
                                                ctypes.byref(written))
                _native.check(status, "decompress")
        return out, bound.value

    @staticmethod
    def _device_frame_info(frame):
        """frame_info of a frame in device memory. frame_info reads the header and the chunk-size
        table only: one read-back of the first 64 KiB covers both for frames of up to about 4 GiB
        of raw data (16K chunks); a larger table takes a second one."""
        import torch
        if frame.dtype != torch.uint8 or frame.dim() != 1:
            raise InvalidArgumentError(f"decompress: a frame on the GPU must be a 1-D uint8 "
                                       f"tensor, not {frame.dtype} of shape {tuple(frame.shape)}")
        view = frame[: min(frame.numel(), 1 << 16)].cpu().numpy()
        table_end = 0
        if view.size >= 32:
            table_end = 32 + 4 * int.from_bytes(view[12:16].tobytes(), "little")
            if view.size < table_end <= frame.numel():
                view = frame[:table_end].cpu().numpy()
        info = _native.FrameInfo()
        # frame_info checks that the table fits in the size it is given before reading it, so a
        # frame whose table runs past what was read back is given only that much.
        size = frame.numel() if view.size == frame.numel() or view.size >= table_end else view.size
        status = _native.frame_info(view.ctypes.data, size, ctypes.byref(info))
        _native.check(status, "decompress (frame on the GPU)")
        return FrameInfo(info)

    @staticmethod
    def _check_out(out, info, elements):
        if _tensors.is_torch_tensor(out):
            name, count, contiguous = _tensors.dtype_name(out.dtype), out.numel(), out.is_contiguous()
        elif isinstance(out, np.ndarray):
            name, count = _tensors.dtype_name(out.dtype), out.size
            contiguous = out.flags.c_contiguous and out.flags.writeable
        else:
            raise InvalidArgumentError(f"out: expected a NumPy array or a torch tensor, got "
                                       f"{type(out).__name__}")
        if name != info.dtype:
            raise InvalidArgumentError(f"out: dtype {name}, the frame holds {info.dtype}")
        if count != elements:
            raise InvalidArgumentError(f"out: {count} elements, the frame holds {elements}")
        if not contiguous:
            raise InvalidArgumentError("out: must be contiguous and writable")

    def _decode_cuda(self, ctx, frame, out, capacity, written, planes, bound):
        import torch
        stream = _cuda_stream(out)
        with torch.cuda.device(out.device):
            if _tensors.is_torch_tensor(frame) and frame.device.type == "cuda":
                device_frame = frame.contiguous()
            elif planes is not None:
                view, _ = _host_bytes(frame, "decompress")
                device_frame = torch.from_numpy(view.copy()).to(out.device)
            else:
                device_frame = None
            if device_frame is None:  # host frame: records cross the bus compressed, overlapped
                view, address = _host_bytes(frame, "decompress")
                status = _native.gpu_decompress_host(ctx, address, view.size, out.data_ptr(),
                                                     capacity, ctypes.byref(written), stream)
            elif planes is not None:
                status = _native.gpu_decompress_planes(ctx, device_frame.data_ptr(),
                                                       device_frame.numel(), planes, out.data_ptr(),
                                                       capacity, ctypes.byref(written),
                                                       ctypes.byref(bound), stream)
            else:
                status = _native.gpu_decompress(ctx, device_frame.data_ptr(), device_frame.numel(),
                                                out.data_ptr(), capacity, ctypes.byref(written),
                                                stream)
            _native.check(status, "decompress (GPU)")


def compress(data, dtype=None, *, keep_on_device=False, **settings):
    """saraphis.Codec(**settings).compress(data, dtype): the frame of one tensor, as bytes (or,
    keep_on_device for a CUDA tensor, as a uint8 CUDA tensor)."""
    with Codec(**settings) as codec:
        return codec.compress(data, dtype, keep_on_device=keep_on_device)


def decompress(frame, shape=None, *, like="numpy", device="cpu", out=None, **settings):
    """saraphis.Codec(**settings).decompress(...): a frame decoded into a new array."""
    with Codec(**settings) as codec:
        return codec.decompress(frame, shape, like=like, device=device, out=out)


def decompress_planes(frame, planes, shape=None, *, like="numpy", device="cpu", out=None,
                      **settings):
    """Progressive decode: (array, bound) from the top `planes` digit planes."""
    with Codec(**settings) as codec:
        return codec.decompress_planes(frame, planes, shape, like=like, device=device, out=out)
