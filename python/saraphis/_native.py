"""The C library, loaded with ctypes: where it is found, every prototype used, and the one place a
status code becomes an exception.

The library is looked for, in order: the file named by SARAPHIS_LIBRARY; libsaraphis.so next to
this file (a wheel built by pip); the build folders of a source checkout (build-release, build).
ctypes releases the GIL for the length of every call, so threads calling into one System run in
parallel.
"""
import ctypes
import os

from . import errors

_HERE = os.path.dirname(os.path.abspath(__file__))
_NAMES = ("libsaraphis.so", "libsaraphis.dylib", "saraphis.dll")


def _candidates():
    explicit = os.environ.get("SARAPHIS_LIBRARY")
    if explicit:
        yield explicit
        return
    for name in _NAMES:
        yield os.path.join(_HERE, name)
    # A source checkout: python/saraphis/ -> the repository root.
    root = os.path.dirname(os.path.dirname(_HERE))
    for folder in ("build-release", "build", "build-gpu"):
        for name in _NAMES:
            yield os.path.join(root, folder, name)


def _load():
    tried = []
    for path in _candidates():
        if os.path.exists(path):
            return ctypes.CDLL(path), path
        tried.append(path)
    raise ImportError(
        "saraphis: the C library was not found; tried " + ", ".join(tried) +
        ". Install the package with pip (it builds the library), or build it with CMake and set "
        "SARAPHIS_LIBRARY to the path of libsaraphis.so")


lib, library_path = _load()

c_size_p = ctypes.POINTER(ctypes.c_size_t)


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice), ("ndim", ctypes.c_int32),
                ("dtype", DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


class FrameInfo(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_int), ("codec", ctypes.c_int), ("raw_size", ctypes.c_uint64),
                ("compressed_size", ctypes.c_uint64), ("chunk_count", ctypes.c_uint32),
                ("chunk_bytes", ctypes.c_uint32)]


MAX_DIMS = 16


class TensorDesc(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int), ("ndim", ctypes.c_uint32),
                ("shape", ctypes.c_uint64 * MAX_DIMS)]


class TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int), ("codec", ctypes.c_int),
                ("ndim", ctypes.c_uint32), ("shape", ctypes.c_uint64 * MAX_DIMS),
                ("raw_size", ctypes.c_uint64), ("compressed_size", ctypes.c_uint64),
                ("chunk_count", ctypes.c_uint32), ("error_bound_mode", ctypes.c_int),
                ("error_bound", ctypes.c_double), ("eps", ctypes.c_double),
                ("max_error", ctypes.c_double), ("prime", ctypes.c_uint),
                ("precision", ctypes.c_uint), ("escapes", ctypes.c_uint64)]


class Timings(ctypes.Structure):
    _fields_ = [("queue_ns", ctypes.c_uint64), ("gather_ns", ctypes.c_uint64),
                ("codec_ns", ctypes.c_uint64), ("total_ns", ctypes.c_uint64)]


class ConfigField(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("type", ctypes.c_char_p),
                ("default_value", ctypes.c_char_p), ("lower", ctypes.c_double),
                ("upper", ctypes.c_double), ("choices", ctypes.c_char_p), ("env", ctypes.c_char_p),
                ("component", ctypes.c_char_p), ("description", ctypes.c_char_p)]


_void_p = ctypes.c_void_p
_status = ctypes.c_int


def _proto(name, restype, *argtypes):
    function = getattr(lib, name)
    function.restype = restype
    function.argtypes = list(argtypes)
    return function


_PROTOTYPES = [
    ("saraphis_version_string", ctypes.c_char_p),
    ("saraphis_status_name", ctypes.c_char_p, ctypes.c_int),
    ("saraphis_last_error", ctypes.c_char_p),
    ("saraphis_dtype_size", ctypes.c_size_t, ctypes.c_int),
    ("saraphis_dtype_name", ctypes.c_char_p, ctypes.c_int),
    ("saraphis_dtype_from_name", ctypes.c_int, ctypes.c_char_p),
    ("saraphis_ctx_create", _void_p),
    ("saraphis_ctx_free", None, _void_p),
    ("saraphis_ctx_set_param", _status, _void_p, ctypes.c_int, ctypes.c_int64),
    ("saraphis_ctx_set_error_bound", _status, _void_p, ctypes.c_int, ctypes.c_double, ctypes.c_uint,
     ctypes.c_uint),
    ("saraphis_compress_bound", ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t),
    ("saraphis_compress", _status, _void_p, ctypes.c_int, _void_p, ctypes.c_size_t, _void_p,
     ctypes.c_size_t, c_size_p),
    ("saraphis_frame_info", _status, _void_p, ctypes.c_size_t, ctypes.POINTER(FrameInfo)),
    ("saraphis_decompress", _status, _void_p, _void_p, ctypes.c_size_t, _void_p, ctypes.c_size_t,
     c_size_p),
    ("saraphis_decompress_planes", _status, _void_p, _void_p, ctypes.c_size_t, ctypes.c_uint,
     _void_p, ctypes.c_size_t, c_size_p, ctypes.POINTER(ctypes.c_double)),
    ("saraphis_writer_open", _status, ctypes.POINTER(_void_p), ctypes.c_char_p, _void_p),
    ("saraphis_writer_add_tensor", _status, _void_p, ctypes.POINTER(TensorDesc), _void_p,
     ctypes.c_size_t),
    ("saraphis_writer_set_metadata", _status, _void_p, ctypes.c_char_p, ctypes.c_char_p),
    ("saraphis_writer_finish", _status, _void_p),
    ("saraphis_writer_free", None, _void_p),
    ("saraphis_reader_open", _status, ctypes.POINTER(_void_p), ctypes.c_char_p, _void_p),
    ("saraphis_reader_free", None, _void_p),
    ("saraphis_reader_tensor_count", ctypes.c_size_t, _void_p),
    ("saraphis_reader_tensor_info", _status, _void_p, ctypes.c_size_t, ctypes.POINTER(TensorInfo)),
    ("saraphis_reader_find", _status, _void_p, ctypes.c_char_p, c_size_p),
    ("saraphis_reader_read_tensor", _status, _void_p, ctypes.c_size_t, _void_p, ctypes.c_size_t),
    ("saraphis_reader_read_tensor_planes", _status, _void_p, ctypes.c_size_t, ctypes.c_uint, _void_p,
     ctypes.c_size_t, ctypes.POINTER(ctypes.c_double)),
    ("saraphis_reader_verify", _status, _void_p),
    ("saraphis_reader_metadata_count", ctypes.c_size_t, _void_p),
    ("saraphis_reader_metadata", _status, _void_p, ctypes.c_size_t,
     ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_char_p)),
    ("saraphis_gpu_available", ctypes.c_int),
    ("saraphis_gpu_decompress", _status, _void_p, _void_p, ctypes.c_size_t, _void_p, ctypes.c_size_t,
     c_size_p, _void_p),
    ("saraphis_gpu_decompress_planes", _status, _void_p, _void_p, ctypes.c_size_t, ctypes.c_uint,
     _void_p, ctypes.c_size_t, c_size_p, ctypes.POINTER(ctypes.c_double), _void_p),
    ("saraphis_gpu_decompress_host", _status, _void_p, _void_p, ctypes.c_size_t, _void_p,
     ctypes.c_size_t, c_size_p, _void_p),
    ("saraphis_gpu_compress", _status, _void_p, ctypes.c_int, _void_p, ctypes.c_size_t, _void_p,
     ctypes.c_size_t, c_size_p, _void_p),
    ("saraphis_config_create", _void_p),
    ("saraphis_config_free", None, _void_p),
    ("saraphis_config_set", _status, _void_p, ctypes.c_char_p, ctypes.c_char_p),
    ("saraphis_config_get", _status, _void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t),
    ("saraphis_config_source", _status, _void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)),
    ("saraphis_config_source_name", ctypes.c_char_p, ctypes.c_int),
    ("saraphis_config_field_count", ctypes.c_size_t),
    ("saraphis_config_field_at", ctypes.POINTER(ConfigField), ctypes.c_size_t),
    ("saraphis_config_load_json", _status, _void_p, ctypes.c_char_p),
    ("saraphis_config_parse_json", _status, _void_p, ctypes.c_char_p, ctypes.c_size_t),
    ("saraphis_config_save_json", _status, _void_p, ctypes.c_char_p),
    ("saraphis_config_to_json", _status, _void_p, ctypes.POINTER(_void_p)),
    ("saraphis_config_apply_env", _status, _void_p),
    ("saraphis_config_validate", _status, _void_p),
    ("saraphis_priority_from_name", _status, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)),
    ("saraphis_strategy_from_name", _status, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)),
    ("saraphis_mode_name", ctypes.c_char_p, ctypes.c_int),
    ("saraphis_system_create", _status, ctypes.POINTER(_void_p), _void_p),
    ("saraphis_system_compress", _status, _void_p, ctypes.POINTER(DLTensor), ctypes.c_int,
     ctypes.c_char_p, ctypes.POINTER(_void_p)),
    ("saraphis_system_compress_batch", _status, _void_p, ctypes.POINTER(ctypes.POINTER(DLTensor)),
     ctypes.c_size_t, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(_void_p),
     ctypes.POINTER(ctypes.c_int)),
    ("saraphis_system_decompress_into", _status, _void_p, _void_p, ctypes.c_size_t,
     ctypes.POINTER(DLTensor), ctypes.c_int),
    ("saraphis_system_optimize", _status, _void_p, ctypes.c_int),
    ("saraphis_system_status_json", _status, _void_p, ctypes.POINTER(_void_p)),
    ("saraphis_system_metrics_prometheus", _status, _void_p, ctypes.POINTER(_void_p)),
    ("saraphis_system_shutdown", _status, _void_p),
    ("saraphis_system_free", None, _void_p),
    ("saraphis_result_data", _void_p, _void_p),
    ("saraphis_result_size", ctypes.c_size_t, _void_p),
    ("saraphis_result_raw_size", ctypes.c_uint64, _void_p),
    ("saraphis_result_ratio", ctypes.c_double, _void_p),
    ("saraphis_result_mode", ctypes.c_int, _void_p),
    ("saraphis_result_codec", ctypes.c_char_p, _void_p),
    ("saraphis_result_dtype", ctypes.c_int, _void_p),
    ("saraphis_result_shape", None, _void_p, ctypes.POINTER(ctypes.c_int32),
     ctypes.POINTER(ctypes.POINTER(ctypes.c_int64))),
    ("saraphis_result_timings", None, _void_p, ctypes.POINTER(Timings)),
    ("saraphis_result_route_reason", ctypes.c_char_p, _void_p),
    ("saraphis_result_metadata_json", ctypes.c_char_p, _void_p),
    ("saraphis_result_free", None, _void_p),
]

_PROTOTYPES.append(("saraphis_dtype_to_dlpack", DLDataType, ctypes.c_int))

for _entry in _PROTOTYPES:
    globals()[_entry[0][len("saraphis_"):]] = _proto(*_entry)

# Strings the library allocates with malloc (status JSON, configuration JSON) go back to free().
_libc = ctypes.CDLL(None)
_libc.free.argtypes = [ctypes.c_void_p]
_libc.free.restype = None


class Closeable:
    """An object that owns a C handle: `with` closes it, and so does garbage collection. close()
    must be idempotent."""

    def close(self):
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


def take_string(pointer):
    """The text of a malloc'ed C string, which is then freed."""
    try:
        return ctypes.string_at(pointer).decode("utf-8")
    finally:
        _libc.free(pointer)


def check(status, where=None):
    """Raises the exception of a status code, with the library's message for this thread."""
    if status == 0:
        return
    message = last_error().decode("utf-8", "replace")
    if where and where not in message:
        message = f"{where}: {message}" if message else where
    raise errors.from_status(status, status_name(status).decode(), message)
