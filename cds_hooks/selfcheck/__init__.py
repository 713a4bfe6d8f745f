"""Service-side CDS Hooks 2.0 conformance checks against a deployed instance (a tool, not part
of the protocol layer).

``sarcoma-cds selfcheck BASE_URL`` runs these over HTTP with ``requests`` and prints one line
per check. The item numbers refer to the service-side checklist in the project's CDS Hooks
reference (``cds-hooks-spec.md``, section 1). With ``--token-key KEY --iss ISS`` every call
carries a freshly signed ES384/RS384 JWT whose ``aud`` is the URL called; the JWT checks then
also prove that bad tokens are refused.

Nothing here imports Flask: the checks see only what an integrator's client would see.
"""

from cds_hooks.selfcheck.results import CheckResult, SelfCheckError, iter_lines, summarize
from cds_hooks.selfcheck.runner import SelfCheck
from cds_hooks.selfcheck.tokens import TokenSigner, unsigned_token
from cds_hooks.selfcheck.wire import card_problems, empty_members

__all__ = [
    "CheckResult",
    "SelfCheck",
    "SelfCheckError",
    "TokenSigner",
    "card_problems",
    "empty_members",
    "iter_lines",
    "summarize",
    "unsigned_token",
]
