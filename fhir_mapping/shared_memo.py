"""Process-wide memos of pure readings that every hook call repeats: which drug a medication
concept names (:func:`fhir_mapping.medications.identify`) and what a dosage reads as
(:func:`fhir_mapping.medications._dose`).

Why: the EHR sends the same orders call after call (a year of cycles of the same regimen,
re-sent on every order-sign for the patient), and the drug tables a concept is read against
only change with a new release. A per-call memo already reads each distinct concept once per
call; this one reads it once per worker process until it is evicted.

What is kept: keys are :class:`TextKeys` of the JSON text of the input (the verdict cache,
:class:`fhir_mapping.parse.VerdictCache`, keys resources the same way), so no text of a
resource stays in memory; values
are drug-table entries, codes as sent for the drug, and dose readings (numbers, units and
fixed problem texts). None of it names or points to a patient: no reference, id, date or
subject is part of what is memoised. Bounded: past ``maxsize`` entries the oldest are
dropped. Dict reads and writes are atomic under the GIL; eviction takes a lock.
"""

from __future__ import annotations

import os
import threading
from enum import Enum
from typing import Generic, Literal, TypeVar

V = TypeVar("V")


class _Missing(Enum):
    MISSING = 0


#: ``get``'s answer for a key not held (a memoised value may be ``None``).
MISSING = _Missing.MISSING


class TextKeys:
    """Keys for texts: a pair of 64-bit keyed hashes, Python's SipHash of the text behind one,
    then another, secret 16-byte prefix drawn for this object (128 bits; unpredictable from
    outside even when ``PYTHONHASHSEED`` is fixed, and meaningless outside this process)."""

    __slots__ = ("first", "second")

    def __init__(self) -> None:
        self.first, self.second = os.urandom(16), os.urandom(16)

    def __call__(self, text: bytes) -> tuple[int, int]:
        return hash(self.first + text), hash(self.second + text)


class SharedMemo(Generic[V]):
    """A bounded, process-wide map from the JSON text of a pure function's input to its
    value, keyed by :class:`TextKeys`."""

    def __init__(self, maxsize: int = 2048) -> None:
        self.maxsize = maxsize
        self.key = TextKeys()
        self._entries: dict[tuple[int, int], V] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[int, int]) -> V | Literal[_Missing.MISSING]:
        return self._entries.get(key, MISSING)

    def put(self, key: tuple[int, int], value: V) -> None:
        entries = self._entries
        if len(entries) >= self.maxsize:
            with self._lock:
                while len(entries) >= self.maxsize:
                    try:
                        del entries[next(iter(entries))]
                    except (KeyError, StopIteration, RuntimeError):
                        break  # another thread evicted it first
        entries[key] = value

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
