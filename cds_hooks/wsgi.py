"""gunicorn entry point: ``gunicorn cds_hooks.wsgi:app``. Settings come from CDS_* variables."""

from cds_hooks.web import create_app

app = create_app()
