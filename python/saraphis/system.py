"""The coordinator (docs/coordinator.md): one configuration, one compress/decompress entry point,
status and statistics, clean shutdown.

    config = saraphis.Configuration(gpu_memory_limit_mb=4096, optimization_strategy="throughput")
    config.save("compression_config.json")
    with saraphis.System(config) as system:               # or saraphis.load_compression_system(path)
        result = system.compress(tensor, priority="high", metadata={"layer": 12})
        print(result.compression_ratio, result.processing_mode)
        again = system.decompress(result)                  # the input's shape and framework
        print(system.status()["statistics"]["total_compressions"])

Configuration precedence (as in C): default < JSON file < environment (SARAPHIS_*, applied when
the System is created) < values set here. A System may be called from many threads at once.
"""
import ctypes
import json
import os


from . import _native
from . import _tensors
from .codec import frame_info, _host_bytes
from .errors import InvalidArgumentError, StateError

def _text(value):
    """A Python value as the text saraphis_config_set parses."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(int(item)) for item in value)
    if hasattr(value, "value") and isinstance(getattr(value, "value"), str):  # an Enum
        return value.value
    return str(value)


class Configuration:
    """Every field of the system configuration (docs/coordinator.md lists them), by name.

    Configuration(**fields) sets fields; nested JSON names take a dot ("swap_thresholds.low") or,
    here, a dict (swap_thresholds={"low": 0.5}). Values are checked as they are set: an unknown
    field or a value out of range raises InvalidArgumentError / NotFoundError naming it.
    """

    def __init__(self, **fields):
        self._config = _native.config_create()
        if not self._config:
            raise MemoryError("saraphis: cannot create a configuration")
        self.update(fields)

    @classmethod
    def load(cls, path):
        """A configuration from a JSON file (all or nothing: a bad key or value raises)."""
        config = cls()
        _native.check(_native.config_load_json(config._config, os.fsencode(os.fspath(path))),
                      f"load {os.fspath(path)}")
        return config

    @classmethod
    def from_json(cls, text):
        config = cls()
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        _native.check(_native.config_parse_json(config._config, data, len(data)), "from_json")
        return config

    def update(self, fields):
        for name, value in dict(fields).items():
            if isinstance(value, dict):
                for inner, inner_value in value.items():
                    self[f"{name}.{inner}"] = inner_value
            else:
                self[name] = value
        return self

    def __setitem__(self, name, value):
        _native.check(_native.config_set(self._config, name.encode("utf-8"),
                                         _text(value).encode("utf-8")), f"configuration '{name}'")

    def __getitem__(self, name):
        """The value, typed by the field (bool, int, float, str, list of int)."""
        buffer = ctypes.create_string_buffer(4096)
        _native.check(_native.config_get(self._config, name.encode("utf-8"), buffer,
                                         len(buffer)), f"configuration '{name}'")
        text = buffer.value.decode("utf-8")
        kind = _FIELD_TYPES.get(name)
        if kind == "bool":
            return text in ("true", "1")
        if kind == "int":
            return int(text)
        if kind == "double":
            return float(text)
        if kind == "int_list":
            return [int(item) for item in text.split(",") if item]
        return text

    def source(self, name):
        """Where a field's value came from: "default", "json", "env" or "api"."""
        source = ctypes.c_int(0)
        _native.check(_native.config_source(self._config, name.encode("utf-8"),
                                             ctypes.byref(source)), f"configuration '{name}'")
        return _native.config_source_name(source.value).decode()

    def apply_env(self):
        """Layers the SARAPHIS_* environment variables on (System does it when created)."""
        _native.check(_native.config_apply_env(self._config), "environment")
        return self

    def validate(self):
        """Checks the rules between fields (swap thresholds in order, ...)."""
        _native.check(_native.config_validate(self._config), "configuration")
        return self

    def to_dict(self):
        return {field["name"]: self[field["name"]] for field in fields()}

    def to_json(self):
        pointer = ctypes.c_void_p()
        _native.check(_native.config_to_json(self._config, ctypes.byref(pointer)), "to_json")
        return _native.take_string(pointer)

    def save(self, path):
        """Writes every field as JSON (temporary file, fsync, rename)."""
        _native.check(_native.config_save_json(self._config, os.fsencode(os.fspath(path))),
                      f"save {os.fspath(path)}")

    def close(self):
        if getattr(self, "_config", None):
            _native.config_free(self._config)
            self._config = None

    def __del__(self):
        self.close()

    def __repr__(self):
        changed = {name: value for name, value in self.to_dict().items()
                   if self.source(name) != "default"}
        return f"Configuration({', '.join(f'{k}={v!r}' for k, v in changed.items())})"


def fields():
    """Every configuration field: name, type, default, range, choices, env, component, help."""
    table = []
    for index in range(_native.config_field_count()):
        raw = _native.config_field_at(index).contents
        decode = lambda value: value.decode("utf-8") if value is not None else None  # noqa: E731
        table.append({"name": decode(raw.name), "type": decode(raw.type),
                      "default": decode(raw.default_value), "lower": raw.lower,
                      "upper": raw.upper, "choices": decode(raw.choices), "env": decode(raw.env),
                      "component": decode(raw.component), "description": decode(raw.description)})
    return table


_FIELD_TYPES = {field["name"]: field["type"] for field in fields()}

# The seeds' name for the configuration.
SystemConfiguration = Configuration


class Result:
    """One compressed tensor: the frame and what the system did with it."""

    def __init__(self, handle, framework, device):
        try:
            size = _native.result_size(handle)
            data = _native.result_data(handle)
            self.compressed_data = ctypes.string_at(data, size) if size else b""
            self.compression_ratio = _native.result_ratio(handle)
            self.raw_size = _native.result_raw_size(handle)
            self.processing_mode = _native.mode_name(_native.result_mode(handle)).decode()
            self.codec = _native.result_codec(handle).decode()
            self.dtype = _tensors.DTYPE_NAMES.get(_native.result_dtype(handle), "UNKNOWN")
            ndim = ctypes.c_int32(0)
            shape = ctypes.POINTER(ctypes.c_int64)()
            _native.result_shape(handle, ctypes.byref(ndim), ctypes.byref(shape))
            self.shape = tuple(int(shape[axis]) for axis in range(ndim.value))
            timings = _native.Timings()
            _native.result_timings(handle, ctypes.byref(timings))
            self.timings = {"queue_ms": timings.queue_ns / 1e6, "gather_ms": timings.gather_ns / 1e6,
                            "codec_ms": timings.codec_ns / 1e6, "total_ms": timings.total_ns / 1e6}
            self.route_reason = _native.result_route_reason(handle).decode()
            self.metadata = json.loads(_native.result_metadata_json(handle).decode() or "{}")
        finally:
            _native.result_free(handle)
        self.framework = framework  # "numpy" or "torch": what decompress(result) returns
        self.device = device

    @property
    def compressed_size(self):
        return len(self.compressed_data)

    def __repr__(self):
        return (f"Result(dtype={self.dtype}, shape={self.shape}, codec={self.codec}, "
                f"compression_ratio={self.compression_ratio:.3f}, "
                f"processing_mode={self.processing_mode!r})")


def _priority(name):
    value = ctypes.c_int(0)
    _native.check(_native.priority_from_name(str(getattr(name, "value", name)).encode(),
                                             ctypes.byref(value)), "priority")
    return value.value


def _metadata(metadata):
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise InvalidArgumentError(f"metadata must be a dict, not {type(metadata).__name__}")
    return json.dumps(metadata).encode("utf-8")


class System(_native.Closeable):
    """The coordinator. config: a Configuration, a dict of fields, a JSON file path, or None
    (defaults); the SARAPHIS_* environment is layered on, then the whole is validated."""

    def __init__(self, config=None):
        if config is None:
            config = Configuration()
        elif isinstance(config, dict):
            config = Configuration(**config)
        elif isinstance(config, (str, bytes, os.PathLike)):
            config = Configuration.load(config)
        elif not isinstance(config, Configuration):
            raise InvalidArgumentError(f"config must be a Configuration, a dict or a path, not "
                                       f"{type(config).__name__}")
        self._system = ctypes.c_void_p()
        _native.check(_native.system_create(ctypes.byref(self._system), config._config),
                      "create the system")

    def _handle(self):
        if not self._system:
            raise StateError("this System was closed")
        return self._system

    def compress(self, tensor, priority="medium", metadata=None):
        """Compresses one tensor (NumPy array, or torch tensor on the CPU; strided is fine).
        priority: critical, high, medium, low, idle. metadata: a dict (model_name, layer,
        require_gpu, require_cpu, size_mb are understood; every key is kept in the result)."""
        described = _tensors.describe(tensor)
        handle = ctypes.c_void_p()
        _native.check(_native.system_compress(self._handle(), ctypes.byref(described.tensor),
                                              _priority(priority), _metadata(metadata),
                                              ctypes.byref(handle)), "compress")
        return Result(handle, described.framework, described.device)

    def compress_batch(self, tensors, priority="medium", metadata=None):
        """Compresses many tensors concurrently; returns their Results in order. metadata: None
        or a list of dicts (or Nones). If any fails, raises the first failure (naming the item)."""
        tensors = list(tensors)
        if metadata is not None and len(metadata) != len(tensors):
            raise InvalidArgumentError(f"compress_batch: {len(metadata)} metadata for "
                                       f"{len(tensors)} tensors")
        described = [_tensors.describe(tensor, f"tensor {index}")
                     for index, tensor in enumerate(tensors)]
        count = len(described)
        pointers = (ctypes.POINTER(_native.DLTensor) * max(count, 1))(
            *[ctypes.pointer(item.tensor) for item in described])
        texts = (ctypes.c_char_p * max(count, 1))(
            *[_metadata(metadata[index]) if metadata else None for index in range(count)])
        handles = (ctypes.c_void_p * max(count, 1))()
        statuses = (ctypes.c_int * max(count, 1))()
        status = _native.system_compress_batch(self._handle(), pointers, count,
                                               _priority(priority), texts, handles, statuses)
        message = _native.last_error().decode("utf-8", "replace")
        results = [Result(handles[index], described[index].framework, described[index].device)
                   if handles[index] else None for index in range(count)]
        if status != 0:
            from . import errors
            raise errors.from_status(status, _native.status_name(status).decode(), message)
        return results

    def decompress(self, data, shape=None, *, device=None, like=None, priority="medium",
                   out=None):
        """Decodes a Result or a frame (bytes). A Result comes back in its input's shape and
        framework unless told otherwise; a frame is 1-D unless `shape` is given. device: "cpu"
        or "cuda[:N]" (torch; decoded on the GPU). out: decode into this array instead."""
        if isinstance(data, Result):
            frame = data.compressed_data
            shape = data.shape if shape is None else shape
            like = data.framework if like is None else like
        else:
            frame = data
            like = "numpy" if like is None else like
        device = "cpu" if device is None else str(device)
        info = frame_info(frame)
        itemsize = _native.dtype_size(_tensors.DTYPE_CODES.get(info.dtype, 0))
        if out is None:
            shape = _tensors.check_shape(shape, info.raw_size // itemsize, "decompress")
            out = _tensors.empty(info.dtype, shape, like, device)
        described = _tensors.describe(out, "out")
        view, address = _host_bytes(frame, "decompress")
        _native.check(_native.system_decompress_into(self._handle(), address, view.size,
                                                     ctypes.byref(described.tensor),
                                                     _priority(priority)), "decompress")
        return out

    def optimize(self, strategy):
        """Switches the strategy: throughput, latency, memory, balanced or adaptive."""
        value = ctypes.c_int(0)
        name = str(getattr(strategy, "value", strategy))
        _native.check(_native.strategy_from_name(name.encode(), ctypes.byref(value)), "strategy")
        _native.check(_native.system_optimize(self._handle(), value.value), "optimize")

    def status(self):
        """Status and statistics (the schema of docs/coordinator.md), as a dict."""
        pointer = ctypes.c_void_p()
        _native.check(_native.system_status_json(self._handle(), ctypes.byref(pointer)), "status")
        return json.loads(_native.take_string(pointer))

    def metrics_prometheus(self):
        """The same figures in the Prometheus text format."""
        pointer = ctypes.c_void_p()
        _native.check(_native.system_metrics_prometheus(self._handle(), ctypes.byref(pointer)),
                      "metrics")
        return _native.take_string(pointer)

    def shutdown(self):
        """Refuses new work, finishes what was accepted, stops the threads. Idempotent."""
        if self._system:
            _native.check(_native.system_shutdown(self._system), "shutdown")

    def close(self):
        """Shuts down and frees the system. Idempotent."""
        if getattr(self, "_system", None):
            _native.system_free(self._system)
            self._system = None

    # The seeds' names.
    get_system_status = status
    optimize_system = optimize


def create_compression_system(config=None):
    """System(config): the seeds' entry point."""
    return System(config)


def load_compression_system(path):
    """A System configured from a JSON file."""
    return System(Configuration.load(path))
