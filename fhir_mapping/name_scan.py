"""Whole-word name matching on ASCII text without the tables' big regular expression.

The drug and brand tables find names in free text with one alternation of every name,
``(?<![\\w-])(?:name|name|...)(?![\\w-])`` (case-insensitive, longest names first), read with
``finditer``. With a hundred names, that pattern tries every name at every character of the
text: about 6 us for a 35-character medication text, once per distinct text per call.

:class:`NameScanner` finds the same matches from the text's word starts: a name can only start
where a ``\\w+`` word starts (and no hyphen precedes it), and only the names whose first word
is that word can match there, tried in the pattern's order. The scan resumes after a match, as
``finditer`` does. It answers only for ASCII text (``str.lower`` and the pattern's case
folding agree there) and only when every name is ASCII and starts with a word character;
otherwise it answers ``None`` and the caller runs the pattern
(``tests/fhir_mapping/test_name_scan.py`` holds the two to the same matches).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["ASCII_WORDS", "NameScanner"]

_WORD = re.compile(r"\w+")


#: For ASCII text, where ``\w`` is ``[A-Za-z0-9_]``: every other byte becomes a space and
#: letters lower case, so that ``bytes.split`` gives the words ``\w+`` finds, lower-cased.
ASCII_WORDS = bytes(
    (c | 0x20) if chr(c).isalpha() else c if (chr(c).isdigit() or c == 0x5F) else 0x20
    for c in range(128)
) + (b" " * 128)


def _is_word(char: str) -> bool:
    r"""``\w`` for one ASCII character."""
    return char == "_" or char.isalnum()


class NameScanner:
    """The names (lower case) a table's pattern matches in a text, in the order given."""

    __slots__ = ("_by_first_word", "_first_words", "_usable")

    def __init__(self, alternatives: Iterable[str]) -> None:
        """``alternatives``: the pattern's names, lower case, in the pattern's order."""
        by_first_word: dict[str, list[str]] = {}
        usable = True
        for name in alternatives:
            first = _WORD.match(name)
            if not name.isascii() or first is None or name != name.lower():
                usable = False
                break
            by_first_word.setdefault(first.group(0), []).append(name)
        self._usable = usable
        self._by_first_word = {word: tuple(names) for word, names in by_first_word.items()}
        self._first_words = frozenset(word.encode("ascii") for word in by_first_word)

    def names_in(self, text: str) -> list[str] | None:
        r"""The names ``pattern.finditer(text)`` matches (lower case, in text order), or
        ``None`` when this scanner cannot answer for ``text`` (not ASCII).

        The words of the text that are first words of names are found in C (a byte
        translation and a split); only where such a word stands as a whole ``\w+`` word, with
        no hyphen before it, are its names tried, in order of position."""
        if not self._usable or not text.isascii():
            return None
        present = self._first_words.intersection(
            text.encode("ascii").translate(ASCII_WORDS).split()
        )
        if not present:
            return []
        lower = text.lower()
        size = len(lower)
        starts: list[tuple[int, str]] = []
        for first in present:
            word = first.decode("ascii")
            start = lower.find(word)
            while start >= 0:
                end = start + len(word)
                if (start == 0 or not (_is_word(lower[start - 1]) or lower[start - 1] == "-")) and (
                    end == size or not _is_word(lower[end])
                ):
                    starts.append((start, word))
                start = lower.find(word, start + 1)
        if len(starts) > 1:
            starts.sort()
        found: list[str] = []
        resume = 0
        for start, word in starts:
            if start < resume:
                continue
            for name in self._by_first_word[word]:
                if lower.startswith(name, start):
                    end = start + len(name)
                    if end < size:
                        after = lower[end]
                        if after == "-" or _is_word(after):
                            continue
                    found.append(name)
                    resume = end
                    break
        return found
