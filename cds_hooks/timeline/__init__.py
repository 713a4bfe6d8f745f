"""The therapy-timeline SMART app (an app beside the CDS Hooks protocol layer).

One patient's diagnosis, biomarkers, lines of therapy (agent, dose, start, stop, why it
stopped), disease-status events and the recommended next step, drawn as a server-side SVG
from the same :func:`fhir_mapping.map_prefetch` and :func:`rules.evaluate` the cards use.

* :mod:`.launch`: SMART App Launch 2.x (public client, authorization code + PKCE S256):
  EHR launch ``GET /app/timeline/launch?iss=<FHIR base>&launch=<opaque>``, standalone launch
  ``?iss=<FHIR base>`` (asks for ``launch/patient``); endpoints come from
  ``{iss}/.well-known/smart-configuration``; a server without one, or one that gives
  ``Patient/<patient>`` without a token, is open and read directly:
  ``GET /app/timeline?iss=<FHIR base>&patient=<id>``.
* :mod:`.model`: reading the patient and laying out the facts; :mod:`.render`: the page.
* :mod:`.views`: the Flask routes.

Only FHIR servers on ``CDS_FHIR_ALLOWLIST`` are contacted. Scopes are the four read scopes the
page needs. ``state`` and the PKCE verifier travel in a short-lived, signed, HttpOnly cookie
that the callback consumes; the access token and the patient data live only for the request
that renders the page (``Cache-Control: no-store``), nothing is stored.
"""
