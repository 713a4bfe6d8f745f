"""The OpenAPI 3.1 description of the CDS Hooks endpoints, served at ``/openapi.json``.

Request and response schemas are generated from the pydantic wire models
(:mod:`cds_hooks.models`), so the document cannot drift from what the service validates and
sends. Errors are FHIR OperationOutcomes carrying a stable code (``urn:sarcoma-cds:error-code``);
401 answers carry no body at all (spec item 55). The document names no secret and no patient
data, so it is public like ``/healthz``.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from pydantic.json_schema import models_json_schema

from cds_hooks.errors import ERROR_CODE_SYSTEM
from cds_hooks.models import CdsRequest, CdsResponse, DiscoveryResponse, FeedbackRequest

OPENAPI_VERSION = "3.1.0"
JSON = "application/json"
REQUEST_TYPES = ("application/json", "application/fhir+json")

OPERATION_OUTCOME: dict[str, Any] = {
    "type": "object",
    "description": "FHIR R4 OperationOutcome; issue[0].details.coding[0].code is a stable code.",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["severity", "code", "details"],
                "properties": {
                    "severity": {"enum": ["fatal", "error", "warning", "information"]},
                    "code": {"type": "string"},
                    "details": {
                        "type": "object",
                        "required": ["coding"],
                        "properties": {
                            "coding": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "object",
                                    "required": ["system", "code"],
                                    "properties": {
                                        "system": {"const": ERROR_CODE_SYSTEM},
                                        "code": {"type": "string"},
                                    },
                                },
                            },
                            "text": {"type": "string"},
                        },
                    },
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}

FEEDBACK_RESPONSE: dict[str, Any] = {
    "type": "object",
    "required": ["accepted"],
    "properties": {
        "accepted": {
            "type": "integer",
            "minimum": 0,
            "description": "How many distinct feedback items the batch held (retries included).",
        }
    },
}

ERROR_DESCRIPTIONS = {
    "400": "Malformed JSON, a request that is not CDS Hooks 2.0, or a hook this service "
    "does not serve.",
    "403": "The JWT is valid but its tenant is not entitled to this service.",
    "404": "No CDS service with this id.",
    "405": "Method not allowed on this endpoint (see the Allow header).",
    "412": "Required FHIR data was neither prefetched nor obtainable from fhirServer.",
    "413": "The request body is larger than this service accepts.",
    "415": "The request body is not application/json.",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(status: str) -> dict[str, Any]:
    return {
        "description": ERROR_DESCRIPTIONS[status],
        "content": {JSON: {"schema": _ref("OperationOutcome")}},
    }


UNAUTHORIZED: dict[str, Any] = {
    "description": "Missing or invalid JWT. The body is empty: the reason is only logged.",
    "headers": {"WWW-Authenticate": {"schema": {"type": "string", "const": "Bearer"}}},
}
DEFAULT_ERROR: dict[str, Any] = {
    "description": "Internal error (500) or not ready (503), as an OperationOutcome.",
    "content": {JSON: {"schema": _ref("OperationOutcome")}},
}
SERVICE_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The service id published in discovery.",
    "schema": {"type": "string", "pattern": r"^[A-Za-z0-9\-_.]+$", "maxLength": 200},
}


def _body(schema: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {media: {"schema": _ref(schema)} for media in REQUEST_TYPES},
    }


def _responses(ok: dict[str, Any], *errors: str) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": ok, "401": UNAUTHORIZED}
    responses.update({status: _error(status) for status in errors})
    responses["default"] = DEFAULT_ERROR
    return responses


@cache
def _schemas() -> dict[str, Any]:
    _, top = models_json_schema(
        [
            (CdsRequest, "validation"),
            (FeedbackRequest, "validation"),
            (CdsResponse, "serialization"),
            (DiscoveryResponse, "serialization"),
        ],
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    # What the validators check beyond the generated types.
    request = schemas["CdsRequest"]["properties"]
    request["fhirServer"] = {
        "type": "string",
        "pattern": r"^https?://[^\s/]+",
        "description": "Base URL of the client's FHIR server; called back only when allowed.",
    }
    schemas["OperationOutcome"] = OPERATION_OUTCOME
    schemas["FeedbackResponse"] = FEEDBACK_RESPONSE
    return schemas


def openapi_document(external_base_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document; ``external_base_url`` is the configured public base URL."""
    security: list[dict[str, list[str]]] = [{"cdsClientJwt": []}]
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Sarcoma CDS Hooks service",
            "version": "2.0",
            "description": "CDS Hooks 2.0 (https://cds-hooks.hl7.org/2.0/) discovery, service "
            "and feedback endpoints. Every call carries a JWT signed by a trusted CDS client "
            "(ES384/RS384 recommended; ES256, RS256, PS384 accepted) whose aud is the URL of "
            "the endpoint called.",
        },
        "servers": [{"url": external_base_url}],
        "paths": {
            "/cds-services": {
                "get": {
                    "operationId": "discovery",
                    "summary": "List the CDS services offered (CDS Hooks discovery).",
                    "security": security,
                    "responses": _responses(
                        {
                            "description": "The services.",
                            "content": {JSON: {"schema": _ref("DiscoveryResponse")}},
                        },
                        "403",
                        "405",
                    ),
                }
            },
            "/cds-services/{id}": {
                "post": {
                    "operationId": "callService",
                    "summary": "Call one CDS service with a hook request.",
                    "security": security,
                    "parameters": [SERVICE_ID],
                    "requestBody": _body("CdsRequest"),
                    "responses": _responses(
                        {
                            "description": "Cards (an empty list means no advice).",
                            "content": {JSON: {"schema": _ref("CdsResponse")}},
                        },
                        "400",
                        "403",
                        "404",
                        "405",
                        "412",
                        "413",
                        "415",
                    ),
                }
            },
            "/cds-services/{id}/feedback": {
                "post": {
                    "operationId": "feedback",
                    "summary": "Report what the user did with the service's cards.",
                    "security": security,
                    "parameters": [SERVICE_ID],
                    "requestBody": _body("FeedbackRequest"),
                    "responses": _responses(
                        {
                            "description": "Feedback stored (idempotent).",
                            "content": {JSON: {"schema": _ref("FeedbackResponse")}},
                        },
                        "400",
                        "403",
                        "404",
                        "405",
                        "413",
                        "415",
                    ),
                }
            },
        },
        "components": {
            "schemas": copy.deepcopy(_schemas()),
            "securitySchemes": {
                "cdsClientJwt": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "CDS Hooks 2.0 client JWT: header alg (asymmetric), kid, "
                    "typ JWT, optional jku; claims iss, aud, exp, iat, jti, optional tenant.",
                }
            },
        },
    }
    return document
