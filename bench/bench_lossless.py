#!/usr/bin/env python3
"""Lossless benchmark: Saraphis against general and float-aware compressors on real weights.

Every file is compressed tensor by tensor (as a checkpoint is), sizes and times summed over the
whole file. Each method's round trip is checked byte for byte before anything is timed. A time is
the median over --reps runs of the whole file; MB/s is uncompressed bytes (1 MB = 1e6 bytes) per
second, for compression and for decompression alike.

Exit status: 0 when every round trip matched (whatever the speeds); 1 on a round-trip mismatch or
a codec error; 2 on a setup error (data files missing, bad arguments, --require-saraphis unmet).

Data comes from bench/setup.sh (which runs bench/model_weights.py). See bench/README.md.
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import hashlib
import importlib.metadata
import json
import os
import platform
import statistics
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO / ".bench" / "data"
DEFAULT_LIB = REPO / "build" / "libsaraphis.so"

FILES = {  # key -> file name under --data
    "f32": "minilm_f32.safetensors",
    "bf16": "minilm_bf16.safetensors",
    "f16": "minilm_f16.safetensors",
    "f32_holding_bf16": "minilm_f32_holding_bf16.safetensors",
}

# safetensors dtype -> (element bytes, Saraphis dtype enum value from include/saraphis.h)
DTYPES = {
    "F32": (4, 1), "F16": (2, 2), "BF16": (2, 3), "F64": (8, 4), "F8_E4M3": (1, 5),
    "F8_E5M2": (1, 6), "I8": (1, 7), "U8": (1, 8), "I16": (2, 9), "U16": (2, 10),
    "I32": (4, 11), "U32": (4, 12), "I64": (8, 13), "U64": (8, 14), "BOOL": (1, 15),
}
# float dtypes: (exponent bits, mantissa bits); the entropy bound splits these
FLOAT_LAYOUT = {"F32": (8, 23), "F16": (5, 10), "BF16": (8, 7), "F64": (11, 52)}
# ZipNN 0.5.4 byte mode handles these float types; other tensors (the model's one I64 buffer)
# are kept raw in the ZipNN column, as ZipNN's own safetensors plugin leaves non-floats alone.
ZIPNN_DTYPE = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}
UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}

SARAPHIS_CHUNK_BYTES = 262144


def blosc2_zstd_level(clevel: int) -> int:
    """c-blosc2's zstd wrapper maps clevel to a libzstd level: clevel*2-1, except 8 -> 20 and
    9 -> 22 (the maximum)."""
    if clevel <= 0:
        return 0
    return {8: 20, 9: 22}.get(clevel, clevel * 2 - 1)


class RoundTripError(Exception):
    pass


class SetupError(Exception):
    pass


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------------
@dataclass
class Tensor:
    name: str
    dtype: str
    shape: list
    raw: bytes          # the tensor's bytes, as in the file
    arr: np.ndarray     # uint8 view of raw (for pointers)


def load_safetensors(path: Path) -> tuple[list[Tensor], dict]:
    blob = path.read_bytes()
    if len(blob) < 8:
        raise SetupError(f"{path}: not a safetensors file")
    (hlen,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + hlen])
    meta = header.pop("__metadata__", None) or {}
    base = 8 + hlen
    out = []
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, e = info["data_offsets"]
        raw = blob[base + b:base + e]
        out.append(Tensor(name, info["dtype"], list(info["shape"]), raw,
                          np.frombuffer(raw, dtype=np.uint8)))
    return out, meta


# ------------------------------------------------------------------------------------------------
# Order-0 entropy bound of Saraphis's channels
# ------------------------------------------------------------------------------------------------
def h0_bits(symbols: np.ndarray, alphabet: int) -> float:
    """Order-0 (empirical) entropy in bits per symbol."""
    counts = np.bincount(symbols.ravel(), minlength=alphabet)
    counts = counts[counts > 0].astype(np.float64)
    n = counts.sum()
    if n == 0:
        return 0.0
    p = counts / n
    return float(-(p * np.log2(p)).sum())


def channel_bits(u: np.ndarray, size: int, ebits: int, mbits: int) -> dict:
    """Order-0 bits of one block of elements (u: the raw bits as uint64), split into Saraphis's
    channels: exponent (H0) and sign+mantissa (H0 of one symbol when <= 16 bits wide, else its raw
    width). 'sm_aware' first drops the mantissa's low bits that are zero in every element."""
    n = u.size
    exp = ((u >> np.uint64(mbits)) & np.uint64((1 << ebits) - 1)).astype(np.int64)
    mant = u & np.uint64((1 << mbits) - 1)
    sign = u >> np.uint64(size * 8 - 1)
    he = h0_bits(exp, 1 << ebits)
    width = 1 + mbits
    if width <= 16:
        hsm = h0_bits(((sign << np.uint64(mbits)) | mant).astype(np.int64), 1 << width)
    else:
        hsm = float(width)
    m_or = int(np.bitwise_or.reduce(mant))
    tz = mbits if m_or == 0 else (m_or & -m_or).bit_length() - 1
    live = mbits - tz
    if tz == 0:
        hsm_aware = hsm
    elif 1 + live <= 16:
        sym = ((sign << np.uint64(live)) | (mant >> np.uint64(tz))).astype(np.int64)
        hsm_aware = h0_bits(sym, 1 << (1 + live))
    else:
        hsm_aware = float(1 + live)
    return {"exp": n * he, "sm": n * hsm, "sm_aware": n * hsm_aware}


def entropy_bound(tensors: list[Tensor], chunk_bytes: int = 262144) -> dict:
    """Order-0 entropy bound of Saraphis's channels, in bytes:
      bound = sum over tensors of n*H0(exponent)/8 + n*H0(sign+mantissa)/8, sign+mantissa being
              one symbol when it is <= 16 bits wide (BF16: 8, F16: 11), else counted at its raw
              width (F32: 24 bits, F64: 53);
      aware = the same after dropping mantissa low bits that are zero in every element of the
              tensor (F32 holding BF16 values: 8 live sign+mantissa bits);
      chunk = the 'aware' rule applied to every chunk_bytes chunk on its own (statistics local to
              each chunk, as a coder with per-chunk tables can use; tables' cost not counted).
    Non-float tensors count at their raw size in every variant. These are order-0 figures for
    this channel split, not limits for every coder: one that models mantissa bytes or adapts
    within a tensor can go below them."""
    tot = {"exp": 0.0, "sm": 0.0, "sm_aware": 0.0, "chunk": 0.0, "top": 0.0, "other": 0,
           "n": 0, "raw": 0}
    for t in tensors:
        tot["raw"] += len(t.raw)
        if t.dtype not in FLOAT_LAYOUT or not t.raw:
            tot["other"] += len(t.raw)
            continue
        size = DTYPES[t.dtype][0]
        ebits, mbits = FLOAT_LAYOUT[t.dtype]
        u = np.frombuffer(t.raw, dtype=UINT[size]).astype(np.uint64)
        whole = channel_bits(u, size, ebits, mbits)
        tot["exp"] += whole["exp"]
        tot["sm"] += whole["sm"]
        tot["sm_aware"] += whole["sm_aware"]
        step = max(1, chunk_bytes // size)
        for i in range(0, u.size, step):
            c = channel_bits(u[i:i + step], size, ebits, mbits)
            tot["chunk"] += c["exp"] + c["sm_aware"]
        top_bits = min(8, mbits)
        top = ((u >> np.uint64(mbits - top_bits)) & np.uint64((1 << top_bits) - 1)).astype(np.int64)
        tot["top"] += u.size * h0_bits(top, 1 << top_bits)
        tot["n"] += u.size
    n = max(tot["n"], 1)
    bound = tot["other"] + (tot["exp"] + tot["sm"]) / 8
    aware = tot["other"] + (tot["exp"] + tot["sm_aware"]) / 8
    chunk = tot["other"] + tot["chunk"] / 8
    ratio = lambda b: tot["raw"] / b if b else None  # noqa: E731
    return {
        "bound_bytes": bound, "bound_ratio": ratio(bound),
        "aware_bound_bytes": aware, "aware_bound_ratio": ratio(aware),
        "chunk_bound_bytes": chunk, "chunk_bound_ratio": ratio(chunk),
        "chunk_bytes": chunk_bytes,
        "exponent_h0_bits_per_elem": tot["exp"] / n,
        "sign_mantissa_bits_per_elem": tot["sm"] / n,
        "sign_mantissa_aware_bits_per_elem": tot["sm_aware"] / n,
        "top_mantissa_byte_h0_bits_per_elem": tot["top"] / n,
        "float_elements": tot["n"], "non_float_bytes": tot["other"],
    }


# ------------------------------------------------------------------------------------------------
# Methods. A method gives, for a thread setting, a per-tensor compress and decompress function.
# threads: 1 = single thread; "all" = every core. None from make() = that setting does not exist.
# ------------------------------------------------------------------------------------------------
CompressFn = Callable[[Tensor, object], object]  # (tensor, source buffer) -> frame
DecompressFn = Callable[[Tensor, object], object]


@dataclass
class Method:
    key: str
    label: str
    make: Callable[[str], tuple[CompressFn, DecompressFn | None] | None]
    # make("1") / make("all") -> (compress, decompress) or None when the setting does not exist;
    # decompress None for "all" means decompression has no multi-threaded mode (n/a).
    note: str = ""
    versions: dict = field(default_factory=dict)
    # True: compress writes into its source buffer, so each pass gets fresh copies (made before
    # the timer starts).
    mutates_input: bool = False


class SaraphisLib:
    REQUIRED = ("saraphis_ctx_create", "saraphis_ctx_free", "saraphis_ctx_set_param",
                "saraphis_compress_bound", "saraphis_compress", "saraphis_decompress")

    def __init__(self, path: Path):
        self.path = path
        self.lib = ctypes.CDLL(str(path))
        missing = [s for s in self.REQUIRED if not hasattr(self.lib, s)]
        if missing:
            raise AttributeError("missing symbols: " + ", ".join(missing))
        L = self.lib
        vp, sz = ctypes.c_void_p, ctypes.c_size_t
        L.saraphis_ctx_create.restype = vp
        L.saraphis_ctx_create.argtypes = []
        L.saraphis_ctx_free.restype = None
        L.saraphis_ctx_free.argtypes = [vp]
        L.saraphis_ctx_set_param.restype = ctypes.c_int
        L.saraphis_ctx_set_param.argtypes = [vp, ctypes.c_int, ctypes.c_int64]
        L.saraphis_compress_bound.restype = sz
        L.saraphis_compress_bound.argtypes = [sz, sz]
        L.saraphis_compress.restype = ctypes.c_int
        L.saraphis_compress.argtypes = [vp, ctypes.c_int, vp, sz, vp, sz, ctypes.POINTER(sz)]
        L.saraphis_decompress.restype = ctypes.c_int
        L.saraphis_decompress.argtypes = [vp, vp, sz, vp, sz, ctypes.POINTER(sz)]
        self.has_status_name = hasattr(L, "saraphis_status_name")
        if self.has_status_name:
            L.saraphis_status_name.restype = ctypes.c_char_p
            L.saraphis_status_name.argtypes = [ctypes.c_int]
        self.has_last_error = hasattr(L, "saraphis_last_error")
        if self.has_last_error:
            L.saraphis_last_error.restype = ctypes.c_char_p
            L.saraphis_last_error.argtypes = []
        self.version = None
        if hasattr(L, "saraphis_version_string"):
            L.saraphis_version_string.restype = ctypes.c_char_p
            L.saraphis_version_string.argtypes = []
            try:
                v = L.saraphis_version_string()
                self.version = v.decode() if v else None
            except Exception:  # noqa: BLE001 - a stub may misbehave; the version is optional
                self.version = None
        self.ctxs = []

    def error(self, status: int, what: str) -> RoundTripError:
        name = str(status)
        if self.has_status_name:
            try:
                s = self.lib.saraphis_status_name(status)
                name = f"{status} ({s.decode() if s else '?'})"
            except Exception:  # noqa: BLE001
                pass
        msg = ""
        if self.has_last_error:
            try:
                m = self.lib.saraphis_last_error()
                msg = m.decode(errors="replace") if m else ""
            except Exception:  # noqa: BLE001
                pass
        return RoundTripError(f"Saraphis {what} failed: status {name}{': ' + msg if msg else ''}")

    def ctx(self, threads: int) -> int:
        c = self.lib.saraphis_ctx_create()
        if not c:
            raise RoundTripError("saraphis_ctx_create returned NULL")
        self.ctxs.append(c)
        st = self.lib.saraphis_ctx_set_param(c, 3, threads)  # SARAPHIS_PARAM_THREADS
        if st != 0:
            raise self.error(st, f"ctx_set_param(THREADS, {threads})")
        return c

    def close(self):
        for c in self.ctxs:
            self.lib.saraphis_ctx_free(c)
        self.ctxs = []

    def make(self, setting: str):
        L = self.lib
        ctx = self.ctx(1 if setting == "1" else 0)
        dsize = ctypes.c_size_t(0)
        byref = ctypes.byref

        def compress(t: Tensor, src):  # src is t.raw; t.arr is the same bytes as an array
            cap = L.saraphis_compress_bound(len(t.raw), SARAPHIS_CHUNK_BYTES)
            dst = np.empty(cap, dtype=np.uint8)
            st = L.saraphis_compress(ctx, DTYPES[t.dtype][1], t.arr.ctypes.data, len(t.raw),
                                     dst.ctypes.data, cap, byref(dsize))
            if st != 0:
                raise self.error(st, f"compress of {t.name}")
            if dsize.value > cap:
                raise RoundTripError(f"Saraphis compress of {t.name} reports {dsize.value} bytes"
                                     f" > capacity {cap}")
            return dst[:dsize.value]

        def decompress(t: Tensor, comp):
            n = len(t.raw)
            dst = np.empty(n, dtype=np.uint8)
            st = L.saraphis_decompress(ctx, comp.ctypes.data, comp.size, dst.ctypes.data, n,
                                       byref(dsize))
            if st != 0:
                raise self.error(st, f"decompress of {t.name}")
            if dsize.value != n:
                raise RoundTripError(f"Saraphis decompress of {t.name}: {dsize.value} bytes,"
                                     f" expected {n}")
            return dst

        return compress, decompress


def version_of(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def build_methods(args, ncpu: int, notes: list[str]) -> tuple[list[Method], SaraphisLib | None]:
    methods: list[Method] = []
    wanted = set(args.methods.split(",")) if args.methods else None

    def want(key: str) -> bool:
        return wanted is None or key in wanted

    # Saraphis ----------------------------------------------------------------------------------
    sara = None
    if want("saraphis"):
        lib_path = Path(args.lib)
        if not lib_path.is_file():
            notes.append(f"Saraphis skipped: {lib_path} not found (build the library first)")
        else:
            try:
                sara = SaraphisLib(lib_path)
            except (OSError, AttributeError) as e:
                notes.append(f"Saraphis skipped: {lib_path}: {e}")
        if sara is None and args.require_saraphis:
            raise SetupError(notes[-1])
        if sara is not None:
            methods.append(Method("saraphis", "Saraphis", sara.make,
                                  note="threads=1 / threads=0 (all cores)",
                                  versions={"saraphis": sara.version or "?",
                                            "lib": str(lib_path)}))

    # zstd --------------------------------------------------------------------------------------
    try:
        import zstandard
    except ImportError:
        zstandard = None
        notes.append("zstd skipped: python package zstandard not installed")
    if zstandard is not None:
        for level in (1, 3, 19):
            if not want(f"zstd{level}") and not want("zstd"):
                continue

            def make_zstd(setting: str, level=level):
                # threads=0: compress in the calling thread; threads=N: N worker threads
                cctx = zstandard.ZstdCompressor(level=level,
                                                threads=0 if setting == "1" else ncpu)
                dctx = zstandard.ZstdDecompressor()
                comp = lambda t, src: cctx.compress(src)  # noqa: E731
                decomp = lambda t, c: dctx.decompress(c, max_output_size=len(t.raw))  # noqa: E731
                return comp, (decomp if setting == "1" else None)

            methods.append(Method(f"zstd{level}", f"zstd -{level}", make_zstd,
                                  note="decompression is single-threaded in zstd",
                                  versions={"zstandard": zstandard.__version__,
                                            "libzstd": zstandard.ZSTD_VERSION and
                                            ".".join(map(str, zstandard.ZSTD_VERSION))}))

    # lz4 ---------------------------------------------------------------------------------------
    if want("lz4"):
        try:
            import lz4.frame as lz4f
            import lz4 as lz4mod
        except ImportError:
            lz4f = None
            notes.append("lz4 skipped: python package lz4 not installed")
        if lz4f is not None:
            def make_lz4(setting: str):
                if setting != "1":
                    return None
                return (lambda t, src: lz4f.compress(src),
                        lambda t, c: lz4f.decompress(c))

            methods.append(Method("lz4", "lz4 (frame, default)", make_lz4,
                                  note="single-threaded only",
                                  versions={"lz4": lz4mod.__version__,
                                            "liblz4": lz4mod.library_version_string()}))

    # ZipNN -------------------------------------------------------------------------------------
    if want("zipnn"):
        try:
            t0 = time.perf_counter()
            import warnings
            with warnings.catch_warnings():  # torch 2.15 warns about torch.jit.script at import
                warnings.simplefilter("ignore", FutureWarning)
                from zipnn import ZipNN  # imports torch (heavy)
            log(f"[zipnn] imported in {time.perf_counter() - t0:.1f} s")
        except Exception as e:  # noqa: BLE001 - ImportError, or torch failing to load
            ZipNN = None
            notes.append(f"ZipNN skipped: cannot import zipnn ({type(e).__name__}: {e})")
        if ZipNN is not None:
            def make_zipnn(setting: str):
                nth = 1 if setting == "1" else ncpu
                cache: dict = {}

                def pair(dtype: str):
                    if dtype not in cache:
                        zdt = ZIPNN_DTYPE[dtype]
                        # method only matters for non-float data: float byte groups always go
                        # through zipnn_core (FSE/Huffman) in 0.5.4.
                        cache[dtype] = (
                            ZipNN(method="huffman", input_format="byte", bytearray_dtype=zdt,
                                  threads=nth),
                            ZipNN(method="huffman", input_format="byte", bytearray_dtype=zdt,
                                  threads=nth))
                    return cache[dtype]

                def comp(t: Tensor, src):
                    if t.dtype not in ZIPNN_DTYPE:
                        return t.raw  # not a type ZipNN takes: kept as it is
                    return pair(t.dtype)[0].compress(src)

                def decomp(t: Tensor, c):
                    if t.dtype not in ZIPNN_DTYPE:
                        return c
                    return pair(t.dtype)[1].decompress(c)

                return comp, decomp

            methods.append(Method("zipnn", "ZipNN (huffman)", make_zipnn,
                                  note=f"threads=1 / threads={ncpu}; non-F32/F16/BF16 tensors "
                                       "kept raw; compress rewrites its input, so it gets copies",
                                  mutates_input=True,
                                  versions={"zipnn": version_of("zipnn") or "?",
                                            "torch": version_of("torch") or "?"}))

    # blosc2 ------------------------------------------------------------------------------------
    if want("blosc2"):
        try:
            import blosc2
        except ImportError:
            blosc2 = None
            notes.append("blosc2 skipped: python package blosc2 not installed")
        if blosc2 is not None:
            clevel = args.blosc2_clevel

            def make_blosc2(setting: str):
                nth = 1 if setting == "1" else ncpu

                def comp(t: Tensor, src):
                    return blosc2.compress2(src, typesize=DTYPES[t.dtype][0],
                                            clevel=clevel, codec=blosc2.Codec.ZSTD,
                                            filters=[blosc2.Filter.SHUFFLE], filters_meta=[0],
                                            nthreads=nth)

                def decomp(t: Tensor, c):
                    return blosc2.decompress2(c, nthreads=nth)

                return comp, decomp

            methods.append(Method("blosc2", f"blosc2 zstd{clevel}+shuffle", make_blosc2,
                                  note=f"codec ZSTD, clevel {clevel} (libzstd level "
                                       f"{blosc2_zstd_level(clevel)}), SHUFFLE, typesize = "
                                       "element size, one chunk per tensor",
                                  versions={"blosc2": blosc2.__version__,
                                            "c-blosc2": str(getattr(blosc2, "blosclib_version",
                                                                    "?")).split()[0]}))
    return methods, sara


# ------------------------------------------------------------------------------------------------
# Measurement
# ------------------------------------------------------------------------------------------------
def nbytes(obj) -> int:
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    return len(obj)


def same_bytes(out, raw: bytes) -> bool:
    if isinstance(out, np.ndarray):
        return out.nbytes == len(raw) and out.tobytes() == raw
    return bytes(out) == raw if not isinstance(out, bytes) else out == raw


def timed(fn: Callable[[], object], prep: Callable[[], object] | None = None) -> float:
    if prep is not None:
        prep()  # untimed
    gc.disable()
    try:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    finally:
        gc.enable()


def samples(first: float, again: Callable[[], float], reps: int, budget: float) -> list[float]:
    """Median sample set: the first (verifying) pass only counts when one pass alone exceeds the
    budget; otherwise up to `reps` fresh passes, fewer when they would exceed the budget."""
    if first >= budget:
        return [first]
    n = max(1, min(reps, int(budget / max(first, 1e-9))))
    return [again() for _ in range(n)]


def run_method(m: Method, tensors: list[Tensor], setting: str, reps: int, budget: float) -> dict:
    fns = m.make(setting)
    if fns is None:
        return {"available": False}
    comp_fn, decomp_fn = fns
    raw_total = sum(len(t.raw) for t in tensors)

    # Verifying pass (also the first compression/decompression timing sample).
    comps: list = []
    srcs: list = [t.raw for t in tensors]

    def fresh_sources():
        # ZipNN 0.5.4 rewrites the buffer it compresses (sign-bit reorder in place, even in a
        # bytes object): hand it copies so the shared input stays intact.
        if m.mutates_input:
            srcs[:] = [bytearray(t.raw) for t in tensors]

    def compress_all():
        comps.clear()
        for t, src in zip(tensors, srcs):
            comps.append(comp_fn(t, src))

    t_c1 = timed(compress_all, fresh_sources)
    size = sum(nbytes(c) for c in comps)
    res = {"available": True, "compressed_bytes": size}
    verified = False
    if decomp_fn is not None:
        outs: list = []

        def decompress_all():
            outs.clear()
            for t, c in zip(tensors, comps):
                outs.append(decomp_fn(t, c))

        t_d1 = timed(decompress_all)
        for t, o in zip(tensors, outs):
            if not same_bytes(o, t.raw):
                raise RoundTripError(f"{m.label} [{setting} thread(s)]: round trip of tensor "
                                     f"{t.name} differs ({nbytes(o)} bytes back, "
                                     f"{len(t.raw)} in)")
        verified = True
        outs.clear()
        d_samples = samples(t_d1, lambda: timed(decompress_all), reps, budget)
        outs.clear()
        res["decompress_s"] = statistics.median(d_samples)
        res["decompress_samples"] = d_samples
        res["decompress_MBps"] = raw_total / 1e6 / res["decompress_s"]
    else:
        # No multi-threaded decompression (zstd): check these frames with the 1-thread decoder.
        one = m.make("1")
        check = one[1] if one is not None else None
        if check is not None:
            for t, c in zip(tensors, comps):
                if not same_bytes(check(t, c), t.raw):
                    raise RoundTripError(f"{m.label} [{setting} thread(s)]: round trip of tensor "
                                         f"{t.name} differs")
            verified = True
    res["verified"] = verified
    res["frames"] = [bytes(c) if isinstance(c, np.ndarray) else c for c in comps] \
        if m.key == "saraphis" else None
    c_samples = samples(t_c1, lambda: timed(compress_all, fresh_sources), reps, budget)
    comps.clear()
    srcs.clear()
    res["compress_s"] = statistics.median(c_samples)
    res["compress_samples"] = c_samples
    res["compress_MBps"] = raw_total / 1e6 / res["compress_s"]
    return res


def verify_with(m: Method, tensors: list[Tensor], setting_c: str, setting_d: str) -> None:
    """Compress with one thread setting, decompress with another (checks the frames are
    independent of the thread count that made them)."""
    fc = m.make(setting_c)
    fd = m.make(setting_d)
    if fc is None or fd is None or fd[1] is None:
        return
    for t in tensors:
        out = fd[1](t, fc[0](t, bytearray(t.raw) if m.mutates_input else t.raw))
        if not same_bytes(out, t.raw):
            raise RoundTripError(f"{m.label}: tensor {t.name} compressed with {setting_c} "
                                 f"thread(s) does not decode with {setting_d}")


def input_digest(tensors: list[Tensor]) -> str:
    h = hashlib.blake2b(digest_size=16)
    for t in tensors:
        h.update(t.raw)
    return h.hexdigest()


def bench_method(m: Method, key: str, tensors: list[Tensor], raw_total: int, args,
                 result: dict) -> dict:
    per = {}
    for setting in ("1", "all"):
        t0 = time.perf_counter()
        r = run_method(m, tensors, setting, args.reps, args.time_budget)
        per[setting] = r
        if r.get("available"):
            log(f"[{key}] {m.label:24s} threads={setting:3s} ratio "
                f"{raw_total / r['compressed_bytes']:.4f}  C {r['compress_MBps']:8.1f} MB/s"
                + (f"  D {r['decompress_MBps']:8.1f} MB/s" if 'decompress_MBps' in r else "")
                + f"  ({time.perf_counter() - t0:.1f} s)")
    if m.key == "saraphis" and per["1"].get("available") and per["all"].get("available"):
        f1, fa = per["1"].pop("frames"), per["all"].pop("frames")
        if f1 != fa:
            w = ("Saraphis frames differ between threads=1 and threads=0 (the API promises "
                 "output independent of the thread count)")
            result["warnings"].append(w)
            log(f"[{key}] WARNING: {w}")
        verify_with(m, tensors, "all", "1")
    for r in per.values():
        r.pop("frames", None)
    s1 = per["1"]
    return {
        "label": m.label, "note": m.note, "versions": m.versions,
        "compressed_bytes": s1.get("compressed_bytes"),
        "ratio": raw_total / s1["compressed_bytes"] if s1.get("compressed_bytes") else None,
        "compress_MBps_1t": s1.get("compress_MBps"),
        "decompress_MBps_1t": s1.get("decompress_MBps"),
        "compress_MBps_all": per["all"].get("compress_MBps"),
        "decompress_MBps_all": per["all"].get("decompress_MBps"),
        "compressed_bytes_all": per["all"].get("compressed_bytes"),
        "runs": per,
    }


def bench_file(key: str, path: Path, methods: list[Method], args, ncpu: int) -> dict:
    tensors, _ = load_safetensors(path)
    raw_total = sum(len(t.raw) for t in tensors)
    dtypes = sorted({t.dtype for t in tensors})
    log(f"[{key}] {path.name}: {len(tensors)} tensors, {raw_total:,} bytes, {dtypes}")
    t0 = time.perf_counter()
    ent = entropy_bound(tensors, SARAPHIS_CHUNK_BYTES)
    log(f"[{key}] entropy bound computed in {time.perf_counter() - t0:.1f} s")
    digest = input_digest(tensors)
    result = {"file": str(path), "key": key, "tensors": len(tensors), "raw_bytes": raw_total,
              "dtypes": dtypes, "entropy": ent, "methods": {}, "warnings": [],
              "failures": []}
    for m in methods:
        try:
            result["methods"][m.key] = bench_method(m, key, tensors, raw_total, args, result)
        except RoundTripError as e:
            log(f"[{key}] FAILED: {e}")
            result["methods"][m.key] = {"label": m.label, "note": m.note,
                                        "versions": m.versions, "error": str(e)}
            result["failures"].append(str(e))
        if input_digest(tensors) != digest:
            e = f"{m.label} modified the input buffers it was given"
            log(f"[{key}] FAILED: {e}; reloading {path.name}")
            result["methods"][m.key] = {"label": m.label, "note": m.note,
                                        "versions": m.versions, "error": e}
            result["failures"].append(e)
            tensors, _ = load_safetensors(path)

    # Comparisons.
    cmp = {}
    M = result["methods"]
    sara = M.get("saraphis")
    if sara and sara.get("compressed_bytes"):
        cmp["saraphis_over_bound"] = sara["compressed_bytes"] / ent["bound_bytes"]
        cmp["saraphis_over_aware_bound"] = sara["compressed_bytes"] / ent["aware_bound_bytes"]
        cmp["saraphis_over_chunk_bound"] = sara["compressed_bytes"] / ent["chunk_bound_bytes"]
        if M.get("zipnn") and M["zipnn"].get("compressed_bytes"):
            cmp["saraphis_size_over_zipnn_size"] = (sara["compressed_bytes"]
                                                    / M["zipnn"]["compressed_bytes"])
        z3 = M.get("zstd3")
        if z3 and z3.get("compressed_bytes"):
            def ratio(a, b):
                return a / b if a and b else None
            cmp["speed_vs_zstd3"] = {
                "compress_1t": ratio(sara["compress_MBps_1t"], z3["compress_MBps_1t"]),
                "compress_all": ratio(sara["compress_MBps_all"], z3["compress_MBps_all"]),
                "decompress_1t": ratio(sara["decompress_MBps_1t"], z3["decompress_MBps_1t"]),
                # zstd has no multi-threaded decompression: compare with its single thread
                "decompress_all_vs_zstd3_1t": ratio(sara["decompress_MBps_all"],
                                                    z3["decompress_MBps_1t"]),
            }
    result["comparisons"] = cmp
    return result


# ------------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------------
def fmt(v, spec: str, na: str = "n/a") -> str:
    return na if v is None else format(v, spec)


def rows_for(res: dict) -> list[list[str]]:
    rows = []
    for key, e in res["methods"].items():
        if "error" in e:
            rows.append([e["label"], "FAILED", "", "", "", "", ""])
            continue
        rows.append([e["label"], fmt(e["ratio"], ".4f"), fmt(e["compressed_bytes"], ",d"),
                     fmt(e["compress_MBps_1t"], ".1f"), fmt(e["compress_MBps_all"], ".1f"),
                     fmt(e["decompress_MBps_1t"], ".1f"), fmt(e["decompress_MBps_all"], ".1f")])
    ent = res["entropy"]
    rows.append(["order-0 bound (channels)", fmt(ent["bound_ratio"], ".4f"),
                 fmt(int(round(ent["bound_bytes"])), ",d"), "", "", "", ""])
    if abs(ent["aware_bound_bytes"] - ent["bound_bytes"]) > 0.5:
        rows.append(["order-0 bound, zero LSBs dropped", fmt(ent["aware_bound_ratio"], ".4f"),
                     fmt(int(round(ent["aware_bound_bytes"])), ",d"), "", "", "", ""])
    rows.append([f"order-0 bound per {ent['chunk_bytes'] // 1024} KiB chunk",
                 fmt(ent["chunk_bound_ratio"], ".4f"),
                 fmt(int(round(ent["chunk_bound_bytes"])), ",d"), "", "", "", ""])
    return rows


HEAD = ["method", "ratio", "bytes", "C MB/s 1T", "C MB/s all", "D MB/s 1T", "D MB/s all"]


def summary_lines(res: dict) -> list[str]:
    ent = res["entropy"]
    lines = [f"entropy/elem: exponent H0 {ent['exponent_h0_bits_per_elem']:.3f} bits, "
             f"sign+mantissa {ent['sign_mantissa_bits_per_elem']:.3f} bits "
             f"(zero-LSB aware {ent['sign_mantissa_aware_bits_per_elem']:.3f}), "
             f"top mantissa byte H0 {ent['top_mantissa_byte_h0_bits_per_elem']:.3f} bits"]
    c = res["comparisons"]
    if "saraphis_over_bound" in c:
        s = (f"Saraphis size / bound: {c['saraphis_over_bound']:.4f}")
        if abs(c["saraphis_over_aware_bound"] - c["saraphis_over_bound"]) > 1e-9:
            s += f" (/ zero-LSB-aware bound: {c['saraphis_over_aware_bound']:.4f})"
        s += f"; / per-chunk bound: {c['saraphis_over_chunk_bound']:.4f}"
        lines.append(s)
    if "saraphis_size_over_zipnn_size" in c:
        lines.append(f"Saraphis size / ZipNN size: {c['saraphis_size_over_zipnn_size']:.4f}")
    if "speed_vs_zstd3" in c:
        v = c["speed_vs_zstd3"]
        lines.append("Saraphis speed / zstd -3: C 1T x" + fmt(v["compress_1t"], ".2f")
                     + ", C all x" + fmt(v["compress_all"], ".2f")
                     + ", D 1T x" + fmt(v["decompress_1t"], ".2f")
                     + ", D all x" + fmt(v["decompress_all_vs_zstd3_1t"], ".2f")
                     + " (zstd decompression is single-threaded)")
    for w in res["warnings"]:
        lines.append("WARNING: " + w)
    for f in res["failures"]:
        lines.append("FAILED: " + f)
    return lines


def title(res: dict) -> str:
    return (f"{Path(res['file']).name}  ({'/'.join(res['dtypes'])}, {res['tensors']} tensors, "
            f"{res['raw_bytes']:,} bytes)")


def print_text(res: dict) -> None:
    rows = rows_for(res)
    widths = [max(len(r[i]) for r in rows + [HEAD]) for i in range(len(HEAD))]
    line = lambda r: "  ".join(  # noqa: E731
        r[i].ljust(widths[i]) if i == 0 else r[i].rjust(widths[i]) for i in range(len(r)))
    print()
    print("== " + title(res))
    print(line(HEAD))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))
    for s in summary_lines(res):
        print("  " + s)


def markdown(results: list[dict], env: dict) -> str:
    out = [f"Machine: {env['cpu']}, {env['ncpu']} cores; 'all' = {env['ncpu']} threads. "
           f"Median of {env['reps']} runs (fewer for slow cells: see JSON). MB = 10^6 bytes of "
           "uncompressed data per second.", ""]
    for res in results:
        out.append(f"### {title(res)}")
        out.append("")
        out.append("| " + " | ".join(HEAD) + " |")
        out.append("|" + "|".join(["---"] + ["---:"] * (len(HEAD) - 1)) + "|")
        for r in rows_for(res):
            out.append("| " + " | ".join(r) + " |")
        out.append("")
        for s in summary_lines(res):
            out.append(f"- {s}")
        out.append("")
    return "\n".join(out)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lib", default=str(DEFAULT_LIB), help="path of libsaraphis.so")
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="folder of the model files")
    ap.add_argument("--files", default=",".join(FILES),
                    help="comma list of: " + ", ".join(FILES) + " (or paths of .safetensors)")
    ap.add_argument("--methods", default="",
                    help="comma list of: saraphis, zstd (all levels) or zstd1/zstd3/zstd19, lz4,"
                         " zipnn, blosc2 (default: all)")
    ap.add_argument("--reps", type=int, default=5, help="timed repetitions per cell (median)")
    ap.add_argument("--time-budget", type=float, default=10.0,
                    help="seconds per cell: slow cells get fewer reps (at least 1)")
    ap.add_argument("--blosc2-clevel", type=int, default=5,
                    help="c-blosc2 clevel (ZSTD codec; default 5 = libzstd level 9)")
    ap.add_argument("--threads", type=int, default=0,
                    help="thread count of the 'all' columns (default: all cores)")
    ap.add_argument("--json", metavar="PATH", help="also write every figure to this JSON file")
    ap.add_argument("--markdown", action="store_true",
                    help="also print markdown tables (for docs/benchmarks.md) at the end")
    ap.add_argument("--require-saraphis", action="store_true",
                    help="treat a missing library or symbol as a setup error (exit 2)")
    args = ap.parse_args()
    if args.reps < 1:
        print("--reps must be >= 1", file=sys.stderr)
        return 2

    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    ncpu = args.threads or cores
    paths = []
    for f in args.files.split(","):
        f = f.strip()
        if not f:
            continue
        p = Path(args.data) / FILES[f] if f in FILES else Path(f)
        if not p.is_file():
            print(f"setup error: {p} not found; run: bash bench/setup.sh", file=sys.stderr)
            return 2
        paths.append((f if f in FILES else p.stem, p))

    notes: list[str] = []
    try:
        methods, sara = build_methods(args, ncpu, notes)
    except SetupError as e:
        print(f"setup error: {e}", file=sys.stderr)
        return 2
    for n in notes:
        print("note: " + n)

    env = {"cpu": cpu_model(), "ncpu": ncpu, "reps": args.reps,
           "time_budget_s": args.time_budget, "python": platform.python_version(),
           "numpy": np.__version__, "platform": platform.platform(),
           "saraphis_chunk_bytes": SARAPHIS_CHUNK_BYTES,
           "methods": {m.key: {"label": m.label, "note": m.note, "versions": m.versions}
                       for m in methods},
           "notes": notes}
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    env["loadavg_1min_start"] = load0
    if load0 is not None and load0 > 0.5 * cores:
        print(f"WARNING: 1-minute load average is {load0:.2f} on {cores} cores: other processes "
              "are running, speeds will be low and noisy")
    print(f"CPU: {env['cpu']}; 'all' = {ncpu} threads; median of {args.reps} runs "
          f"(time budget {args.time_budget:g} s per cell); MB = 1e6 bytes")
    for m in methods:
        print(f"  {m.label:24s} " + ", ".join(f"{k} {v}" for k, v in m.versions.items())
              + (f"  [{m.note}]" if m.note else ""))

    results = []
    status = 0
    try:
        for key, p in paths:
            res = bench_file(key, p, methods, args, ncpu)
            results.append(res)
            print_text(res)
            sys.stdout.flush()
            if res["failures"]:
                status = 1
    finally:
        if sara is not None:
            sara.close()
    if status:
        print("\nROUND-TRIP FAILURE(S):")
        for res in results:
            for f in res["failures"]:
                print(f"  {Path(res['file']).name}: {f}")

    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    env["loadavg_1min_end"] = load1
    if load1 is not None and load1 > 0.5 * cores + 1:  # the benchmark itself adds about 1
        print(f"\nWARNING: 1-minute load average at the end is {load1:.2f} on {cores} cores: "
              "other processes competed for the CPU; speeds are not reliable")
    if args.markdown and results:
        print()
        print(markdown(results, env))
    if args.json:
        doc = {"environment": env, "files": results, "status": status}
        Path(args.json).write_text(json.dumps(doc, indent=1, default=str) + "\n")
        print(f"\nwrote {args.json}")
    return status


if __name__ == "__main__":
    sys.exit(main())
