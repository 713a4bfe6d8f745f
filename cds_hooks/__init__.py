"""HTTP and CDS Hooks 2.0 protocol layer of the sarcoma therapy-sequencing service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(*args: Any, **kwargs: Any) -> Flask:
    """Application factory; see :func:`cds_hooks.web.create_app`."""
    from cds_hooks.web import create_app as _create_app

    return _create_app(*args, **kwargs)
