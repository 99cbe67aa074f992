"""The first run: the one-time setup code that ``make run`` prints and the first-admin page
asks for (``accounts.services.first_admin_create`` makes the admin)."""

from __future__ import annotations

import hmac

from django.conf import settings

from pipeline_secrets.core.env import persistent_secret


def setup_code() -> str:
    """The one-time code the first-admin page asks for; made (owner-only) on first use."""
    path = settings.SETUP_CODE_FILE
    try:
        return str(path.read_text().strip())
    except FileNotFoundError:
        pass
    return persistent_secret(path, nbytes=12)


def setup_code_matches(offered: str) -> bool:
    return hmac.compare_digest(offered.strip().encode(), setup_code().encode())


def setup_code_discard() -> None:
    settings.SETUP_CODE_FILE.unlink(missing_ok=True)


def new_setup_code() -> str:
    """A fresh code, replacing any earlier one."""
    setup_code_discard()
    return setup_code()
