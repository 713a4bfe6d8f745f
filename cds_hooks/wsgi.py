"""gunicorn entry point: ``gunicorn cds_hooks.wsgi:app``. Settings come from CDS_* variables."""

import gc

from cds_hooks.web import create_app

app = create_app()
# Everything loaded so far (Flask, the FHIR models, the knowledge base) lives as long as the
# process: move it out of the garbage collector's generations, so that collections only scan
# what a request allocates (shorter tail latency) and forked workers share those pages.
gc.collect()
gc.freeze()
