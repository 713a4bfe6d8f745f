"""Broken wording a clinician must never read on a card, the timeline page or the KB document.

:func:`wording_problems` returns one line per problem found in a text: internal keys shown as
words, pluralisation by ``(s)``, ``1 rules``, doubled punctuation (``et al..``, ``(FDA));``),
a name followed by itself in parentheses (``Leiomyosarcoma (Leiomyosarcoma, NOS)``, British and
American spellings of one name), fusions not in HGVS ``::`` notation, leaked ``None``/``null``.
"""

from __future__ import annotations

import html
import re

from rules.patient import Histology
from rules.wording import same_name

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("plural written as (s)", re.compile(r"\w\(s\)")),
    (
        "a count of one with a plural noun",
        re.compile(
            r"(?<![\d.,])\b1 (lines|rules|agents|results|cards|orders|inputs|options|sources|"
            r"studies|tests|patients|drugs|issues|recommendations|reasons)\b"
        ),
    ),
    ("doubled full stop", re.compile(r"(?<!\.)\.\.(?!\.)")),
    ("doubled parenthesis", re.compile(r"\)\)|\(\(")),
    ("space before punctuation", re.compile(r"\w [,;:.](?=\s|$)")),
    ("stop reason shown as a key", re.compile(r"stopped for (completed|other|unknown)\b")),
    ("failure reason shown as a key", re.compile(r"failed: (unknown|other) documented")),
    (
        "internal histology key",
        re.compile(r"(?<![\w/-])sarcoma[ -]nos(?![\w-])|(?<![\w/.-])gist(?![\w.-])"),
    ),
    (
        "fusion not in HGVS :: notation",
        re.compile(
            r"\b(EWSR1|FUS|ETV6|EML4|COL1A1|SS18|ASPSCR1|NAB2|TPM3|LMNA|TFE3)[/-][A-Z][A-Z0-9]+"
        ),
    ),
    ("empty value leaked", re.compile(r"\b(None|null|undefined|NaN)\b")),
    ("template or object leaked", re.compile(r"[{}]|<[A-Za-z]+ object at")),
)
_KEYS = tuple(
    re.compile(rf"(?<![\w/`-]){re.escape(h.value)}(?![\w/`-])") for h in Histology if "-" in h.value
)
_PAREN = re.compile(r"\(([^()]{3,80})\)")
_CODE = re.compile(r"`[^`]*`")
_URL = re.compile(r"https?://\S+")
_HGVS = re.compile(r"\b[cgmnpr]\.\(?[A-Za-z0-9_*>+\-]+\)?")
_TAG = re.compile(r"<[^>]+>")


def visible_text(text: str, *, is_html: bool = False) -> str:
    """The words a reader sees: no code spans, URLs, tags or markdown emphasis."""
    if is_html:
        text = re.sub(r"<(style|script|title)\b.*?</\1>", " ", text, flags=re.S)
        text = re.sub(r"<svg\b.*?</svg>", lambda m: _svg_text(m.group(0)), text, flags=re.S)
        text = html.unescape(_TAG.sub("\n", text))
    text = _URL.sub(" ", _CODE.sub("CODE", text))
    text = _HGVS.sub("HGVS", text)  # p.(Ala502_Tyr503dup) is notation, not prose
    text = re.sub(r"(?m)^_|_$", "", text)  # the italic footer line
    return text.replace("**", "")


def _svg_text(svg: str) -> str:
    return "\n".join(re.findall(r"<text\b[^>]*>(.*?)</text>", svg, flags=re.S))


def _doubled_names(text: str) -> list[str]:
    found = []
    for match in _PAREN.finditer(text):
        inner = match.group(1)
        before = re.findall(r"[\w'-]+", text[: match.start()])[-8:]
        for size in range(1, len(before) + 1):
            if same_name(" ".join(before[-size:]), inner):
                found.append(f"name repeated in parentheses: {' '.join(before[-size:])} ({inner})")
                break
    return found


def wording_problems(text: str, *, where: str = "", is_html: bool = False) -> list[str]:
    """Problems in the visible words of ``text`` (markdown, or HTML with ``is_html``)."""
    seen = visible_text(text, is_html=is_html)
    problems = []
    for label, pattern in _PATTERNS:
        for match in pattern.finditer(seen):
            problems.append(
                f"{where}: {label}: ...{seen[max(0, match.start() - 40) : match.end() + 20]!r}"
            )
    for pattern in _KEYS:
        for match in pattern.finditer(seen):
            problems.append(f"{where}: internal key {match.group(0)!r}")
    problems.extend(f"{where}: {p}" for p in _doubled_names(seen))
    return problems


def card_texts(card: dict[str, object]) -> list[str]:
    """Every text of a wire card a user reads: summary, detail, source, links, suggestions."""
    texts = [str(card.get("summary", "")), str(card.get("detail", ""))]
    source = card.get("source")
    if isinstance(source, dict):
        texts.append(str(source.get("label", "")))
    for link in card.get("links") or []:  # type: ignore[attr-defined]
        texts.append(str(link.get("label", "")))
    for suggestion in card.get("suggestions") or []:  # type: ignore[attr-defined]
        texts.append(str(suggestion.get("label", "")))
        texts.extend(str(a.get("description", "")) for a in suggestion.get("actions", []))
    return texts


def card_wording_problems(card: dict[str, object], where: str = "") -> list[str]:
    where = f"{where} card {str(card.get('summary', ''))[:50]!r}"
    return [p for text in card_texts(card) for p in wording_problems(text, where=where)]
