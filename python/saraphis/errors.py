"""Exceptions: one class per status code of the C library (include/saraphis.h), all of them
SaraphisError, itself a RuntimeError. Each carries the code, its stable name and the library's
message, which says what failed and where (file, tensor, chunk, field).

Errors found in Python before the library is called (an object that is not an array, an unknown
keyword value) raise the same classes, so one `except saraphis.SaraphisError` catches everything
the package raises about its input.
"""


class SaraphisError(RuntimeError):
    """A failure reported by Saraphis. `status` is the C status code, `name` its stable name."""

    status = -1
    name = "error"

    def __init__(self, message, status=None, name=None):
        super().__init__(message)
        if status is not None:
            self.status = status
        if name is not None:
            self.name = name
        self.message = message

    def __str__(self):
        return f"[{self.name}] {self.message}"


class InvalidArgumentError(SaraphisError, ValueError):
    status, name = 2, "invalid-argument"


class IOFailure(SaraphisError):
    status, name = 3, "io"


class OutOfMemoryError(SaraphisError, MemoryError):
    status, name = 4, "out-of-memory"


class TruncatedError(SaraphisError):
    status, name = 5, "truncated"


class CorruptError(SaraphisError):
    status, name = 6, "corrupt"


class ChecksumError(SaraphisError):
    status, name = 7, "checksum"


class UnsupportedError(SaraphisError):
    status, name = 8, "unsupported"


class BadInputFormatError(SaraphisError):
    status, name = 9, "bad-input-format"


class DtypeError(SaraphisError, TypeError):
    status, name = 10, "dtype"


class BufferTooSmallError(SaraphisError):
    status, name = 11, "buffer-too-small"


class LimitError(SaraphisError):
    status, name = 12, "limit"


class NotFoundError(SaraphisError, KeyError):
    status, name = 13, "not-found"

    def __str__(self):  # KeyError would print the repr of the message
        return SaraphisError.__str__(self)


class ThreadError(SaraphisError):
    status, name = 14, "thread"


class GpuError(SaraphisError):
    status, name = 15, "gpu"


class StateError(SaraphisError):
    status, name = 16, "state"


_BY_STATUS = {cls.status: cls for cls in (
    InvalidArgumentError, IOFailure, OutOfMemoryError, TruncatedError, CorruptError, ChecksumError,
    UnsupportedError, BadInputFormatError, DtypeError, BufferTooSmallError, LimitError,
    NotFoundError, ThreadError, GpuError, StateError)}


def from_status(status, name, message):
    """The exception for a C status code (a code this package does not know: SaraphisError)."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        return SaraphisError(message, status, name)
    return cls(message)
