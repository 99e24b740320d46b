"""Bounds-checked reading of a FlatBuffer (the container of ``.tflite`` models).

The generated Python accessors trust every offset in the file: on a truncated or corrupt model
they raise whatever ``struct`` or numpy raises, read from the wrong end of the buffer (Python
slicing accepts negative offsets), or loop over a vector length that was never written. Here every
table, vtable, field, vector and string is checked against the buffer before it is read; the first
violation raises ``FlatbufferError``, which the format's reader turns into one ``ModelFileError``
naming the file, the object being read and the byte (``Flatbuffer.error``).

Vectors are bounded by the buffer (a length is accepted only when its elements fit in the file),
so walking any vector costs at most one step per four bytes of file, however corrupt the lengths.
Messages are built only on failure: reading a model of thousands of tensors stays cheap.
"""

from __future__ import annotations

import struct

import numpy as np

from edgeport.errors import ModelFileError

__all__ = ["Flatbuffer", "FlatbufferError", "Table"]

_U16 = struct.Struct("<H")
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")


class FlatbufferError(Exception):
    """A check failed: ``problem`` says what; ``truncated`` when a read ran past the end of the file."""

    def __init__(self, problem: str, *, truncated: bool = False) -> None:
        self.problem = problem
        self.truncated = truncated
        super().__init__(problem)


class Flatbuffer:
    """A FlatBuffer held in memory."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)

    def need(self, pos: int, length: int) -> None:
        """Raise unless bytes ``[pos, pos + length)`` lie inside the buffer."""
        if pos < 0 or length < 0:
            raise FlatbufferError(f"an offset points before the start of the file (byte {pos})")
        if pos + length > self.size:
            raise FlatbufferError(f"it needs bytes {pos}..{pos + length} but the file ends at byte {self.size}",
                                  truncated=True)

    def u16(self, pos: int) -> int:
        if pos < 0 or pos + 2 > self.size:
            self.need(pos, 2)
        return int(_U16.unpack_from(self.data, pos)[0])

    def i32(self, pos: int) -> int:
        if pos < 0 or pos + 4 > self.size:
            self.need(pos, 4)
        return int(_I32.unpack_from(self.data, pos)[0])

    def u32(self, pos: int) -> int:
        if pos < 0 or pos + 4 > self.size:
            self.need(pos, 4)
        return int(_U32.unpack_from(self.data, pos)[0])

    def root(self) -> Table:
        return Table(self, self.u32(0))

    def error(self, label: str, where: str, exc: FlatbufferError, fix: str) -> ModelFileError:
        """The one-line ``ModelFileError`` for ``exc``, raised while reading ``where`` of file ``label``."""
        kind = "truncated or corrupt" if exc.truncated else "corrupt"
        return ModelFileError(f"{label}: the file is {kind}: reading {where}, {exc.problem}", fix=fix)


class Table:
    """One table: its fields are read by vtable offset (``4 + 2 * field index`` in the schema)."""

    __slots__ = ("fb", "pos", "_vtable", "_vtable_len", "_object_len")

    def __init__(self, fb: Flatbuffer, pos: int) -> None:
        self.fb, self.pos = fb, pos
        vtable = pos - fb.i32(pos)
        vtable_len = fb.u16(vtable)
        object_len = fb.u16(vtable + 2)
        if vtable_len < 4 or vtable_len % 2:
            raise FlatbufferError(f"the table at byte {pos} has a vtable of {vtable_len} bytes")
        fb.need(vtable, vtable_len)
        fb.need(pos, max(object_len, 4))
        self._vtable, self._vtable_len, self._object_len = vtable, vtable_len, object_len

    def _field(self, slot: int, size: int) -> int | None:
        """Absolute position of the field at vtable offset ``slot`` (``None`` when absent)."""
        if slot >= self._vtable_len:
            return None
        rel = int(_U16.unpack_from(self.fb.data, self._vtable + slot)[0])  # inside the checked vtable
        if rel == 0:
            return None
        if rel + size > self._object_len:
            raise FlatbufferError(f"field {slot} of the table at byte {self.pos} lies outside the table")
        return self.pos + rel

    def has(self, slot: int) -> bool:
        return self._field(slot, 1) is not None

    def scalar(self, slot: int, fmt: str, default: int | float = 0) -> int | float:
        """A scalar field (``struct`` format without the byte order, e.g. ``"i"``, ``"B"``, ``"Q"``)."""
        pos = self._field(slot, struct.calcsize(fmt))
        if pos is None:
            return default
        value: int | float = struct.unpack_from("<" + fmt, self.fb.data, pos)[0]
        return value

    def _target(self, slot: int) -> int | None:
        pos = self._field(slot, 4)
        if pos is None:
            return None
        return pos + int(_U32.unpack_from(self.fb.data, pos)[0])

    def table(self, slot: int) -> Table | None:
        target = self._target(slot)
        return None if target is None else Table(self.fb, target)

    def _vector(self, slot: int, elem_size: int) -> tuple[int, int] | None:
        """(start, length) of a vector field, its elements checked to lie in the buffer."""
        target = self._target(slot)
        if target is None:
            return None
        length = self.fb.u32(target)
        if target + 4 + length * elem_size > self.fb.size:
            raise FlatbufferError(f"a vector at byte {target} declares {length} elements, which need bytes "
                                  f"{target + 4}..{target + 4 + length * elem_size} but the file ends at byte "
                                  f"{self.fb.size}", truncated=True)
        return target + 4, length

    def ints(self, slot: int, fmt: str = "i") -> tuple[int, ...]:
        """A vector of integers (``struct`` format of one element); ``()`` when absent."""
        vec = self._vector(slot, struct.calcsize(fmt))
        if vec is None or vec[1] == 0:
            return ()
        start, length = vec
        return struct.unpack_from(f"<{length}{fmt}", self.fb.data, start)

    def array(self, slot: int, dtype: str) -> np.ndarray:
        """A vector of scalars as a numpy array (a copy; empty when the field is absent)."""
        dt = np.dtype(dtype).newbyteorder("<")
        vec = self._vector(slot, dt.itemsize)
        if vec is None:
            return np.zeros(0, dtype=dt)
        start, length = vec
        return np.frombuffer(self.fb.data, dtype=dt, count=length, offset=start).copy()

    def blob(self, slot: int) -> tuple[int, int]:
        """(start, length) of a byte vector, without copying it ((0, 0) when absent)."""
        vec = self._vector(slot, 1)
        return (0, 0) if vec is None else vec

    def string(self, slot: int) -> str:
        vec = self._vector(slot, 1)
        if vec is None:
            return ""
        start, length = vec
        return self.fb.data[start:start + length].decode("utf-8", "replace")

    def tables(self, slot: int) -> list[Table]:
        """A vector of tables (each element an offset to its table)."""
        vec = self._vector(slot, 4)
        if vec is None:
            return []
        start, length = vec
        offsets = struct.unpack_from(f"<{length}I", self.fb.data, start) if length else ()
        return [Table(self.fb, start + 4 * i + off) for i, off in enumerate(offsets)]
