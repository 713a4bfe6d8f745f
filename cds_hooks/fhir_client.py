"""A small FHIR R4 client for prefetch fall-back (spec items 39-45).

One ``requests.Session`` per process is shared by all calls. Every call carries
``Accept: application/fhir+json``, the ``fhirAuthorization`` bearer token when given, a hard
time budget and a response-size cap. Redirects are never followed. Only bases that pass
:func:`fhir_server_allowed` are ever contacted (SSRF guard). Reads are GETs; several reads of
one hook call may be offered to the server as one FHIR batch of GETs (:meth:`FhirClient.batch`,
``POST [base]``), with a GET each when it does not take it.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import orjson
import requests

from cds_hooks.observability import FHIR_CALLBACK_FAILURES, FHIR_CALLBACK_LATENCY
from cds_hooks.settings import is_loopback_host

log = logging.getLogger(__name__)


class FhirUnavailable(Exception):
    """The FHIR server could not give the data (refused, timed out, too large, not JSON)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def bounded_get(
    session: requests.Session,
    url: str,
    *,
    headers: dict[str, str],
    deadline: float,
    connect_timeout_s: float,
    max_bytes: int,
    post: bytes | None = None,
) -> bytes:
    """GET ``url`` and return a 200 body: no redirects followed, the body capped at
    ``max_bytes`` and the whole exchange bounded by ``deadline`` (``time.monotonic``).

    The one outbound HTTP read of the service (FHIR callbacks, JWKS, SMART discovery); any
    failure raises :class:`FhirUnavailable` with a stable reason (``timeout``,
    ``redirect-refused``, ``http-<status>``, ``response-too-large``, ``connection-failed``).
    With ``post``, the request is a POST of that body (a FHIR batch of reads, see
    :meth:`FhirClient.batch`), under the same rules.
    """
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FhirUnavailable("timeout")
    try:
        with session.request(
            "GET" if post is None else "POST",
            url,
            data=post,
            headers=headers,
            timeout=(min(remaining, connect_timeout_s), remaining),
            allow_redirects=False,
            stream=True,
        ) as response:
            if response.is_redirect or 300 <= response.status_code < 400:
                raise FhirUnavailable("redirect-refused")
            if response.status_code != 200:
                raise FhirUnavailable(f"http-{response.status_code}")
            body = bytearray()
            for chunk in response.iter_content(chunk_size=65536):
                body.extend(chunk)
                if len(body) > max_bytes:
                    raise FhirUnavailable("response-too-large")
                if time.monotonic() > deadline:
                    raise FhirUnavailable("timeout")
    except requests.Timeout:
        raise FhirUnavailable("timeout") from None
    except requests.RequestException:
        raise FhirUnavailable("connection-failed") from None
    return bytes(body)


def _has_dot_segments(path: str) -> bool:
    decoded = unquote(path)
    return "\\" in decoded or any(segment in {".", ".."} for segment in decoded.split("/"))


def _split(url: str) -> tuple[str, str, int, str] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    if parts.username or parts.password or parts.query or parts.fragment:
        return None
    # Dot segments (also percent-encoded) would let a server or proxy resolve the path outside
    # the allowed prefix: /fhir/../admin starts with /fhir/ but means /admin.
    if _has_dot_segments(parts.path):
        return None
    port = port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.hostname.lower(), port, parts.path.rstrip("/")


def fhir_server_allowed(url: str, prefixes: list[str], *, allow_insecure_loopback: bool) -> bool:
    """True when ``url`` is under one of ``prefixes`` (same scheme, host, port; path prefix on a
    segment boundary), and is https unless it is loopback and loopback http is allowed."""
    target = _split(url)
    if target is None:
        return False
    scheme, host, port, path = target
    if scheme != "https" and not (allow_insecure_loopback and is_loopback_host(host)):
        return False
    for prefix in prefixes:
        allowed = _split(prefix)
        if allowed is None:
            continue
        if allowed[:3] != (scheme, host, port):
            continue
        if path == allowed[3] or path.startswith(allowed[3] + "/") or not allowed[3]:
            return True
    return False


@dataclass(frozen=True, slots=True)
class FhirClientConfig:
    timeout_s: float
    max_pages: int
    max_response_bytes: int


class BatchSupport:
    """Per process: the FHIR bases that did not take a batch. Many servers refuse one (405,
    400, 403, or an answer that is not a ``batch-response``); after the first refusal a base
    gets its reads one by one, without the wasted round trip. Holds only base URLs (from the
    allowlist), never patient data; bounded."""

    MAX_BASES = 256

    def __init__(self) -> None:
        self._refused: set[str] = set()
        self._plain_codes: set[str] = set()

    def allowed(self, base: str) -> bool:
        return base.rstrip("/") not in self._refused

    def refuse(self, base: str, reason: str) -> None:
        base = base.rstrip("/")
        if base not in self._refused and len(self._refused) < self.MAX_BASES:
            self._refused.add(base)
            log.info("fhir_batch_refused reason=%s", reason)

    def bare_codes_allowed(self, base: str) -> bool:
        """Whether searches may go in the batch with bare codes (:mod:`cds_hooks.bare_codes`):
        not to a base that once left such an entry unanswered."""
        return base.rstrip("/") not in self._plain_codes

    def refuse_bare_codes(self, base: str) -> None:
        base = base.rstrip("/")
        if base not in self._plain_codes and len(self._plain_codes) < self.MAX_BASES:
            self._plain_codes.add(base)
            log.info("fhir_bare_codes_refused")


class FhirClient:
    """Reads from one FHIR base on behalf of one hook call."""

    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        access_token: str | None,
        config: FhirClientConfig,
        batch_support: BatchSupport | None = None,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/") + "/"
        self._token = access_token
        self._config = config
        self._batch_support = batch_support

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/fhir+json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _get(self, url: str, deadline: float) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            return self._get_once(url, deadline)
        except FhirUnavailable as exc:
            FHIR_CALLBACK_FAILURES.labels(exc.reason).inc()
            raise
        finally:
            FHIR_CALLBACK_LATENCY.observe(time.perf_counter() - started)

    def _get_once(self, url: str, deadline: float) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FhirUnavailable("timeout")
        if not url.startswith(self._base) or _has_dot_segments(urlsplit(url).path):
            raise FhirUnavailable("link-outside-base")
        body = bounded_get(
            self._session,
            url,
            headers=self._headers(),
            deadline=deadline,
            connect_timeout_s=self._config.timeout_s,
            max_bytes=self._config.max_response_bytes,
        )
        data = _loads(body)
        if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
            raise FhirUnavailable("not-a-resource")
        return data

    def batch(self, relatives: list[str]) -> list[dict[str, Any] | None] | None:
        """Send the reads and searches ``relatives`` as one FHIR ``batch`` (``POST [base]``,
        entries ``GET relative``): one round trip and one request for the server to handle
        instead of one per key. The FHIR semantics of each entry are those of the GET itself.

        Returns, per entry in order, the resource the server answered with ``200`` (for a
        search, its first page: :meth:`complete_pages` follows its ``next`` links), or ``None``
        for an entry it did not answer so (the caller GETs that one). Returns ``None`` when the
        server did not take the batch (refused, failed, timed out, too large, or an answer that
        is not a ``batch-response`` with one entry per request): the caller GETs them all, and
        the base is remembered as one that gets no batch. Never called without
        :class:`BatchSupport` (the per-process memo)."""
        support = self._batch_support
        if support is None or not support.allowed(self._base):
            return None
        body = {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [{"request": {"method": "GET", "url": r}} for r in relatives],
        }
        headers = {**self._headers(), "Content-Type": "application/fhir+json"}
        started = time.perf_counter()
        try:
            raw = bounded_get(
                self._session,
                self._base.rstrip("/"),
                headers=headers,
                deadline=time.monotonic() + self._config.timeout_s,
                connect_timeout_s=self._config.timeout_s,
                max_bytes=self._config.max_response_bytes,
                post=orjson.dumps(body),
            )
            answer = _loads(raw)
        except FhirUnavailable as exc:
            FHIR_CALLBACK_FAILURES.labels(f"batch-{exc.reason}").inc()
            if exc.reason != "response-too-large":  # that one is about this patient's record
                support.refuse(self._base, exc.reason)
            return None
        finally:
            FHIR_CALLBACK_LATENCY.observe(time.perf_counter() - started)
        entries = answer.get("entry") if isinstance(answer, dict) else None
        if (
            not isinstance(answer, dict)
            or answer.get("resourceType") != "Bundle"
            or answer.get("type") != "batch-response"
            or not isinstance(entries, list)
            or len(entries) != len(relatives)
        ):
            FHIR_CALLBACK_FAILURES.labels("batch-not-a-batch-response").inc()
            support.refuse(self._base, "not-a-batch-response")
            return None
        return [_entry_resource(entry) for entry in entries]

    def bare_codes_allowed(self) -> bool:
        support = self._batch_support
        return support is not None and support.bare_codes_allowed(self._base)

    def refuse_bare_codes(self) -> None:
        if self._batch_support is not None:
            self._batch_support.refuse_bare_codes(self._base)

    def read(self, relative: str) -> dict[str, Any]:
        deadline = time.monotonic() + self._config.timeout_s
        return self._get(urljoin(self._base, relative), deadline)

    def search(self, relative: str) -> dict[str, Any]:
        """Run a search and follow ``Bundle.link[next]`` up to the page cap into one Bundle."""
        deadline = time.monotonic() + self._config.timeout_s
        first = self._get(urljoin(self._base, relative), deadline)
        return self.complete_pages(first, deadline)

    def complete_pages(
        self, bundle: dict[str, Any], deadline: float | None = None
    ) -> dict[str, Any]:
        """Follow next links of an already received searchset Bundle; return one merged Bundle."""
        if bundle.get("resourceType") != "Bundle":
            return bundle
        deadline = deadline or time.monotonic() + self._config.timeout_s
        entries = _entries(bundle)
        page = bundle
        pages = 1
        while (next_url := next_link(page)) is not None:
            if pages >= self._config.max_pages:
                raise FhirUnavailable("too-many-pages")
            page = self._get(next_url, deadline)
            if page.get("resourceType") != "Bundle" or not isinstance(page.get("entry", []), list):
                raise FhirUnavailable("page-not-a-bundle")
            entries.extend(_entries(page))
            pages += 1
        merged = {k: v for k, v in bundle.items() if k not in {"entry", "link"}}
        if entries:
            merged["entry"] = entries
        return merged


def _entry_resource(entry: Any) -> dict[str, Any] | None:
    """The resource of a batch-response entry answered ``200``, else ``None``."""
    if not isinstance(entry, dict):
        return None
    response, resource = entry.get("response"), entry.get("resource")
    status = response.get("status") if isinstance(response, dict) else None
    if not isinstance(status, str) or status.split(" ", 1)[0] != "200":
        return None
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return None
    return resource


def _loads(body: bytes) -> Any:
    """Parse a FHIR server's answer: orjson (C speed), and for the few texts that strict
    RFC 8259 parser refuses but the standard library reads (NaN, integers beyond 64 bits, lone
    surrogates, UTF-16), the standard library, so that every answer reads as it always did."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise FhirUnavailable("not-json") from None


def _entries(bundle: dict[str, Any]) -> list[Any]:
    entries = bundle.get("entry")
    return list(entries) if isinstance(entries, list) else []


def next_link(bundle: dict[str, Any]) -> str | None:
    """The ``next`` page of a Bundle; an ill-typed ``link`` (not a list of objects) has none."""
    links = bundle.get("link")
    if not isinstance(links, list):
        return None
    for link in links:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            if isinstance(url, str) and url:
                return url
    return None
