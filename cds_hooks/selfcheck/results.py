"""What a self-check run reports: one result per check, and the verdict line."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    items: str = ""

    def line(self) -> str:
        items = f" [spec {self.items}]" if self.items else ""
        return f"{self.status.upper():<5} {self.name:<38} {self.detail}{items}"


class SelfCheckError(Exception):
    """The check could not run at all (bad key file, unusable base URL)."""


def summarize(results: list[CheckResult]) -> str:
    counts = {
        status: sum(1 for r in results if r.status == status) for status in ("pass", "fail", "skip")
    }
    verdict = "FAILED" if counts["fail"] else "PASSED"
    return f"{verdict}: {counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped"


def iter_lines(results: list[CheckResult]) -> Iterator[str]:
    for result in results:
        yield result.line()
    yield summarize(results)
