"""Client authentication: the CDS Hooks 2.0 JWT bearer trust model (spec section H, items 46-58).

Trusted clients come from ``CDS_TRUSTED_CLIENTS_FILE`` (YAML or JSON, see
``deploy/trusted-clients.example.yaml``). Each entry names one issuer (``iss``) and where its
public keys come from: a ``jku`` (the one JWK Set URL fetched for it), a ``jwks_file`` or an
inline ``jwks``. A ``jku`` given together with static keys is only matched, never fetched.

Every call to ``/cds-services*`` is verified before its body is read:

* ``Authorization: Bearer <JWT>``; the JWS header must carry ``alg`` from :data:`ALLOWED_ALGORITHMS`
  (asymmetric only: never ``none``, never HMAC, whatever the header says), ``kid`` and
  ``typ: JWT``, and no ``crit``;
* ``iss`` must be a trusted issuer; a header ``jku`` must equal that issuer's ``jku``, and no
  other URL is ever fetched;
* the key is chosen by ``kid`` among that issuer's keys only, and must suit ``alg``;
* ``aud`` (string or array of strings) must name the external URL of the endpoint called;
* ``exp``, ``iat`` and ``jti`` are required, ``nbf`` is honoured, all within a small leeway;
  ``exp - iat`` may not exceed ``CDS_JWT_MAX_LIFETIME_S``;
* ``jti`` is recorded in the database (table ``jwt_replay``) until the token expires, so a token
  is accepted once across all workers and replicas that share the database;
* ``tenant`` must be one of the entry's ``tenants`` when the entry lists any (else 403).

Failures raise :class:`cds_hooks.errors.Unauthorized` with a stable reason code that is logged
but never answered. No token, key or claim value other than the issuer reaches a log line.
"""

from cds_hooks.auth.clients import (
    TrustedClient,
    TrustedClientsError,
    load_trusted_clients,
)
from cds_hooks.auth.jwks import (
    ALLOWED_ALGORITHMS,
    KeySource,
    RemoteJwks,
    StaticKeys,
    VerificationKey,
    parse_jwks,
)
from cds_hooks.auth.replay import ReplayCache
from cds_hooks.auth.verify import JwtAuthenticator, build_authenticator

__all__ = [
    "ALLOWED_ALGORITHMS",
    "JwtAuthenticator",
    "KeySource",
    "RemoteJwks",
    "ReplayCache",
    "StaticKeys",
    "TrustedClient",
    "TrustedClientsError",
    "VerificationKey",
    "build_authenticator",
    "load_trusted_clients",
    "parse_jwks",
]
