"""gunicorn settings read by every way the product is served (``make run``, the scale stack,
the Helm chart, the image): ``--config python:pipeline_secrets.gunicorn_conf``.

With ``PROMETHEUS_MULTIPROC_DIR`` set, each worker writes its metric samples there; a
worker that exits must be marked dead, or its live gauges would keep being reported.

gunicorn's control socket defaults to one fixed path per machine user
(``~/.gunicorn/gunicorn.ctl``), which every instance on the machine would share: it is off
unless ``GUNICORN_CONTROL_SOCKET`` names a path (``make run`` gives it one under its
``DATA_DIR``).
"""

from __future__ import annotations

import os
from typing import Any

if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
