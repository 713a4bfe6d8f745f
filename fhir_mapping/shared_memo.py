"""Process-wide memos of pure readings that every hook call repeats: which drug a medication
concept names (:func:`fhir_mapping.medications.identify`) and what a dosage reads as
(:func:`fhir_mapping.medications._dose`).

Why: the EHR sends the same orders call after call (a year of cycles of the same regimen,
re-sent on every order-sign for the patient), and the drug tables a concept is read against
only change with a new release. A per-call memo already reads each distinct concept once per
call; this one reads it once per worker process until it is evicted.

What is kept: keys are a pair of 64-bit keyed hashes of the JSON text of the input (as in
:class:`fhir_mapping.parse.VerdictCache`: Python's SipHash of the text behind two secret
16-byte prefixes drawn by this process), so no text of a resource stays in memory; values
are drug-table entries, codes as sent for the drug, and dose readings (numbers, units and
fixed problem texts). None of it names or points to a patient: no reference, id, date or
subject is part of what is memoised. Bounded: past ``maxsize`` entries the oldest are
dropped. Dict reads and writes are atomic under the GIL; eviction takes a lock.
"""

from __future__ import annotations

import os
import threading
from typing import Generic, TypeVar

V = TypeVar("V")

#: ``get``'s answer for a key not held (a memoised value may be ``None``).
MISSING = object()


class SharedMemo(Generic[V]):
    """A bounded, process-wide map from the JSON text of a pure function's input to its
    value, keyed by a keyed 128-bit hash of that text."""

    def __init__(self, maxsize: int = 2048) -> None:
        self.maxsize = maxsize
        self._first, self._second = os.urandom(16), os.urandom(16)
        self._entries: dict[tuple[int, int], V] = {}
        self._lock = threading.Lock()

    def key(self, text: bytes) -> tuple[int, int]:
        return hash(self._first + text), hash(self._second + text)

    def get(self, key: tuple[int, int]) -> V | object:
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
