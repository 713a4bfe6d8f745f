"""gunicorn settings for production: ``gunicorn -c deploy/gunicorn.conf.py cds_hooks.wsgi:app``.

The same settings as ``sarcoma-cds serve`` (the image's command), from one place:
:func:`cds_hooks.server.gunicorn_options` (worker model, 10 s worker timeout below any EHR's,
graceful drain, worker recycling, no control socket, no access log with bodies) and the same
logging (one JSON line per request on stderr, at ``CDS_LOG_LEVEL``). Used by ``make bench``.
The Prometheus folder is chosen (and emptied) here, before the preloaded app imports
prometheus_client.
"""

from cds_hooks.logs import configure_logging
from cds_hooks.server import gunicorn_options, prepare_metrics_dir
from cds_hooks.settings import load_settings

prepare_metrics_dir()
_settings = load_settings()
configure_logging(_settings.log_level)
globals().update(gunicorn_options(_settings))
