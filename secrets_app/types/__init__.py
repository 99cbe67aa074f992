"""The secret-type registry: one module per type, one row per type in ``REGISTRY``.

Adding a type is adding a module with a ``TYPE`` and a row here.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from secrets_app.types import (
    amazon,
    azure,
    cloudflare,
    digitalocean,
    fn,
    generic,
    google,
    htpasswd,
    kubernetes,
    pagerduty,
    password,
    pkecert,
    registry,
    slack,
    ssh,
    tls,
    vault,
    vsphere,
)
from secrets_app.types.base import Context, Field, Prepared, SecretType

REGISTRY: dict[str, SecretType] = {
    t.name: t
    for t in (
        generic.TYPE,
        password.TYPE,
        htpasswd.TYPE,
        tls.TYPE,
        ssh.TYPE,
        amazon.TYPE,
        google.TYPE,
        azure.TYPE,
        registry.TYPE,
        kubernetes.TYPE,
        pkecert.TYPE,
        vsphere.TYPE,
        digitalocean.TYPE,
        cloudflare.TYPE,
        vault.TYPE,
        fn.TYPE,
        slack.TYPE,
        pagerduty.TYPE,
    )
}


def get_type(name: object) -> SecretType:
    """The registered type called ``name``; a field error listing the known ones otherwise."""
    if isinstance(name, str) and name in REGISTRY:
        return REGISTRY[name]
    raise ValidationError(
        {"type": f"Unknown secret type {name!r}; known types: {', '.join(sorted(REGISTRY))}."}
    )


__all__ = ["REGISTRY", "Context", "Field", "Prepared", "SecretType", "get_type"]
