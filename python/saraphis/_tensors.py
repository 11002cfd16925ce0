"""Arrays in and out: NumPy arrays and PyTorch tensors described as DLPack DLTensors for the C
library (no copy: the DLTensor points at the caller's memory, strides included), dtype names
between the frameworks and Saraphis, and new arrays to decode into.

BF16 and FP8 in NumPy come from ml_dtypes (the package JAX and TensorFlow use for them); without it
such frames decode into PyTorch only. PyTorch is never imported here unless the caller passed a
torch tensor or asked for one (`like="torch"`).
"""
import ctypes
import sys

import numpy as np

from . import _native
from .errors import DtypeError, InvalidArgumentError, UnsupportedError

# Saraphis dtype codes (saraphis_dtype_t) by name, from the library's own table, and the DLPack
# type of each as the library maps it (saraphis_dtype_to_dlpack).
DTYPE_CODES = {}
_DLPACK = {}
for _code in range(1, 64):
    if not _native.dtype_size(_code):
        break
    _name = _native.dtype_name(_code).decode()
    DTYPE_CODES[_name] = _code
    _dlpack = _native.dtype_to_dlpack(_code)
    _DLPACK[_name] = (_dlpack.code, _dlpack.bits)
del _code, _name, _dlpack
DTYPE_NAMES = {code: name for name, code in DTYPE_CODES.items()}
# The name of each NumPy / PyTorch dtype.
_NUMPY_NAMES = {"float32": "F32", "float16": "F16", "float64": "F64", "bfloat16": "BF16",
                "float8_e4m3fn": "F8_E4M3", "float8_e5m2": "F8_E5M2", "int8": "I8", "uint8": "U8",
                "int16": "I16", "uint16": "U16", "int32": "I32", "uint32": "U32", "int64": "I64",
                "uint64": "U64", "bool": "BOOL"}
_TORCH_NAMES = {"float32": "F32", "float16": "F16", "float64": "F64", "bfloat16": "BF16",
                "float8_e4m3fn": "F8_E4M3", "float8_e5m2": "F8_E5M2", "int8": "I8", "uint8": "U8",
                "int16": "I16", "uint16": "U16", "int32": "I32", "uint32": "U32", "int64": "I64",
                "uint64": "U64", "bool": "BOOL"}
KDL_CPU, KDL_CUDA = 1, 2


def dtype_name(value):
    """A Saraphis dtype name from a name ("bf16", "F32"), a NumPy dtype or a torch dtype."""
    if isinstance(value, str):
        code = _native.dtype_from_name(value.encode())  # "f32", "BF16", "F8_E4M3FN", ...
        if code:
            return DTYPE_NAMES[code]
        aliases = {"FLOAT32": "F32", "FLOAT16": "F16", "FLOAT64": "F64", "BFLOAT16": "BF16",
                   "HALF": "F16", "FLOAT": "F32", "DOUBLE": "F64"}
        name = aliases.get(value.upper(), value.upper())
        if name not in DTYPE_CODES:
            raise DtypeError(f"unknown dtype '{value}'; Saraphis knows {', '.join(DTYPE_CODES)}")
        return name
    if _is_torch_dtype(value):
        key = str(value).replace("torch.", "")
        if key not in _TORCH_NAMES:
            raise DtypeError(f"torch dtype {value} has no Saraphis dtype")
        return _TORCH_NAMES[key]
    try:
        key = np.dtype(value).name
    except TypeError:
        raise DtypeError(f"not a dtype: {value!r}") from None
    if key not in _NUMPY_NAMES:
        raise DtypeError(f"NumPy dtype {key} has no Saraphis dtype "
                         f"(supported: {', '.join(sorted(_NUMPY_NAMES))})")
    return _NUMPY_NAMES[key]


def numpy_dtype(name):
    """The NumPy dtype of a Saraphis dtype name (BF16 and FP8 need ml_dtypes)."""
    plain = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I8": np.int8,
             "U8": np.uint8, "I16": np.int16, "U16": np.uint16, "I32": np.int32,
             "U32": np.uint32, "I64": np.int64, "U64": np.uint64, "BOOL": np.bool_}
    if name in plain:
        return np.dtype(plain[name])
    try:
        import ml_dtypes
    except ImportError:
        raise UnsupportedError(f"{name} has no NumPy dtype without the ml_dtypes package "
                               f"(pip install ml-dtypes), or decode it with like='torch'") from None
    return np.dtype({"BF16": ml_dtypes.bfloat16, "F8_E4M3": ml_dtypes.float8_e4m3fn,
                     "F8_E5M2": ml_dtypes.float8_e5m2}[name])


def torch_dtype(name):
    import torch
    table = {"F32": torch.float32, "F16": torch.float16, "F64": torch.float64,
             "BF16": torch.bfloat16, "I8": torch.int8, "U8": torch.uint8, "I16": torch.int16,
             "I32": torch.int32, "I64": torch.int64, "BOOL": torch.bool}
    for extra, attribute in (("F8_E4M3", "float8_e4m3fn"), ("F8_E5M2", "float8_e5m2"),
                             ("U16", "uint16"), ("U32", "uint32"), ("U64", "uint64")):
        if hasattr(torch, attribute):
            table[extra] = getattr(torch, attribute)
    if name not in table:
        raise UnsupportedError(f"{name} has no dtype in this PyTorch ({torch.__version__})")
    return table[name]


def _is_torch_dtype(value):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.dtype)


def is_torch_tensor(value):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


class Described:
    """A DLTensor over an array, and what keeps the array's memory alive while C reads it."""

    def __init__(self, tensor, keep, framework, device):
        self.tensor = tensor
        self.keep = keep
        self.framework = framework  # "numpy" or "torch"
        self.device = device        # "cpu" or "cuda:N"


def describe(array, what="tensor"):
    """A DLTensor over a NumPy array or a torch tensor (strides kept; no copy)."""
    try:
        return _describe(array, what)
    except DtypeError as error:
        raise DtypeError(f"{what}: {error.message}") from None


def _describe(array, what):
    if is_torch_tensor(array):
        name = dtype_name(array.dtype)
        if array.device.type == "cuda":
            device = (KDL_CUDA, array.device.index or 0)
        elif array.device.type == "cpu":
            device = (KDL_CPU, 0)
        else:
            raise UnsupportedError(f"{what}: a tensor on device '{array.device}' (Saraphis takes "
                                   f"CPU and CUDA tensors)")
        shape, strides = tuple(array.shape), tuple(array.stride())
        pointer, framework = array.data_ptr(), "torch"
        label = "cpu" if device[0] == KDL_CPU else f"cuda:{device[1]}"
    else:
        if not isinstance(array, np.ndarray):
            if hasattr(array, "__array_interface__") or isinstance(array, (list, tuple)):
                array = np.asarray(array)
            else:
                raise InvalidArgumentError(f"{what}: expected a NumPy array or a torch tensor, "
                                           f"got {type(array).__name__}")
        name = dtype_name(array.dtype)
        itemsize = array.dtype.itemsize
        if any(stride % itemsize for stride in array.strides):
            array = np.ascontiguousarray(array)  # strides that are not whole elements
        shape = tuple(array.shape)
        strides = tuple(stride // itemsize for stride in array.strides)
        pointer, framework, device, label = array.ctypes.data, "numpy", (KDL_CPU, 0), "cpu"
    ndim = len(shape)
    shape_c = (ctypes.c_int64 * max(ndim, 1))(*shape)
    strides_c = (ctypes.c_int64 * max(ndim, 1))(*strides)
    code, bits = _DLPACK[name]
    tensor = _native.DLTensor(pointer, _native.DLDevice(*device), ndim,
                              _native.DLDataType(code, bits, 1), shape_c, strides_c, 0)
    return Described(tensor, (array, shape_c, strides_c), framework, label)


def empty(dtype, shape, like="numpy", device="cpu"):
    """A new array of a Saraphis dtype to decode into: NumPy (CPU only) or torch (CPU or CUDA)."""
    if like == "numpy":
        if device != "cpu":
            raise InvalidArgumentError(f"like='numpy' decodes to the CPU only, not to '{device}' "
                                       f"(use like='torch')")
        return np.empty(shape, dtype=numpy_dtype(dtype))
    if like == "torch":
        import torch
        return torch.empty(shape, dtype=torch_dtype(dtype), device=device)
    raise InvalidArgumentError(f"like must be 'numpy' or 'torch', not {like!r}")


def check_shape(shape, elements, what):
    """The shape to decode into: given, or 1-D; its element count must be the frame's."""
    if shape is None:
        return (elements,)
    try:
        shape = tuple(int(extent) for extent in shape)
    except TypeError:
        raise InvalidArgumentError(f"{what}: shape must be a sequence of integers, "
                                   f"not {shape!r}") from None
    count = 1
    for extent in shape:
        if extent < 0:
            raise InvalidArgumentError(f"{what}: negative extent in shape {shape}")
        count *= extent
    if count != elements:
        raise InvalidArgumentError(f"{what}: shape {shape} holds {count} elements, the frame "
                                   f"{elements}")
    return shape
