"""A search's ``code`` list sent as bare codes in the FHIR batch, with the answer kept to the
codings asked for: the same resources as the ``system|code`` search, for less server work.

A token ``code=C`` matches every coding with code ``C`` whatever its system, so its answer
holds every resource that ``code=S|C`` finds; keeping, of the searched type, only the resources
with a ``code.coding`` of one of the ``(S, C)`` pairs asked for gives back exactly the answer of
the ``system|code`` search (other entries, such as an ``OperationOutcome`` the server added, are
kept). A server that does not take the bare form answers that entry with something else than
``200``; the key is then read with its own GET of the ``system|code`` search, as for any entry
not answered, and the base is remembered (:class:`cds_hooks.fhir_client.BatchSupport`) so that
later calls send it the ``system|code`` searches in the batch.

Why: a server that keeps a search index per token (``system``, ``code``) answers ``code=C`` for
a list of codes with one index range per code, and a list of ``S|C`` pairs often with a scan of
every coded resource of the type (sekmet-fhir, SQLite: for the 39 codes of the ``observations``
search, a scan of every Observation code on the server, twice per search).
"""

from __future__ import annotations

from typing import Any

Pairs = frozenset[tuple[str, str]]


def bare_codes(query: str) -> tuple[str, Pairs] | None:
    """``query`` with its ``code`` list as bare codes, and the ``(system, code)`` pairs it asked
    for; ``None`` when it has no ``code`` list of plain ``system|code`` tokens (a token without
    a system, an escaped character, a modifier: the search is then sent as it is)."""
    path, sep, params = query.partition("?")
    if not sep:
        return None
    parts = params.split("&")
    found = [i for i, p in enumerate(parts) if p.startswith("code=")]
    if len(found) != 1:
        return None
    value = parts[found[0]].removeprefix("code=")
    if "\\" in value:
        return None
    tokens = [token.split("|") for token in value.split(",")]
    if not all(len(t) == 2 and t[0] and t[1] for t in tokens):
        return None
    parts[found[0]] = "code=" + ",".join(dict.fromkeys(t[1] for t in tokens))
    pairs = frozenset((t[0], t[1]) for t in tokens)
    return f"{path}?{'&'.join(parts)}", pairs


def asked_for(bundle: dict[str, Any], resource_type: str, pairs: Pairs) -> dict[str, Any]:
    """``bundle`` without the resources of ``resource_type`` that have no ``code.coding`` of
    ``pairs`` (the ones the bare codes found in another code system, or under no system)."""
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return bundle
    kept = [e for e in entries if not _other_code(e, resource_type, pairs)]
    if len(kept) == len(entries):
        return bundle
    out = {k: v for k, v in bundle.items() if k != "entry"}
    if kept:
        out["entry"] = kept
    return out


def _other_code(entry: Any, resource_type: str, pairs: Pairs) -> bool:
    resource = entry.get("resource") if isinstance(entry, dict) else None
    if not isinstance(resource, dict) or resource.get("resourceType") != resource_type:
        return False
    concept = resource.get("code")
    codings = concept.get("coding") if isinstance(concept, dict) else None
    for coding in codings if isinstance(codings, list) else ():
        if isinstance(coding, dict):
            system, code = coding.get("system"), coding.get("code")
            if isinstance(system, str) and isinstance(code, str) and (system, code) in pairs:
                return False
    return True
