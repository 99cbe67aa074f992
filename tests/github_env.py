"""Loaded before Django's settings (``-p tests.github_env`` in pytest's options): the
session's GitHub stand-in gets its address now, because allauth fixes every GitHub URL when
its GitHub module is imported and the product reads ``GITHUB_*`` from the environment.

The listening socket is made here and handed to the stand-in (tests/github_standin.py), so
no other process can take the port in between. Any GitHub settings of the machine running
the tests are replaced: the tests never reach a real GitHub.
"""

from __future__ import annotations

import os
import socket

SOCKET = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
SOCKET.bind(("127.0.0.1", 0))
SOCKET.listen(64)
URL = f"http://127.0.0.1:{SOCKET.getsockname()[1]}"
CLIENT_ID = "standin-client-id"
CLIENT_SECRET = "standin-client-secret"  # the stand-in's own, valid nowhere else

os.environ["GITHUB_URL"] = URL
os.environ["GITHUB_CLIENT_ID"] = CLIENT_ID
os.environ["GITHUB_CLIENT_SECRET"] = CLIENT_SECRET
