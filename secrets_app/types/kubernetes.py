"""kubernetes: a kubeconfig, stored as YAML; clusters use it to install secrets.

Its credentials are inline: paths to files, plugins and proxies are refused (see
``clusters.kube.parse_kubeconfig``), so a kubeconfig cannot make the server read its own files
or run programs."""

from __future__ import annotations

import base64

import yaml
from django.core.exceptions import ValidationError

from secrets_app import hooks
from secrets_app.types.base import Context, Field, Prepared, SecretType
from secrets_app.types.kubeconfig_check import parse_kubeconfig

FIELD = "K8Sconfig"


def kubeconfig_text(raw: str) -> str:
    """The kubeconfig YAML: as given, or decoded from base64; never stored double-encoded."""
    stripped = raw.strip()
    try:
        if isinstance(yaml.safe_load(stripped), dict):
            return stripped + "\n"
    except (yaml.YAMLError, ValueError, TypeError, RecursionError):
        # PyYAML raises ValueError for impossible dates, for instance.
        pass
    try:
        decoded = base64.b64decode("".join(stripped.split()), validate=True).decode()
    except ValueError:  # binascii.Error, UnicodeDecodeError, and text that is not ASCII
        raise ValidationError(
            {f"values.{FIELD}": "Must be kubeconfig YAML or base64 of it."}
        ) from None
    return decoded.strip() + "\n"


class KubernetesType(SecretType):
    name = "kubernetes"
    description = (
        "A kubeconfig (YAML or base64) with a current context, server and inline credentials "
        "(no file paths, plugins or proxies)."
    )
    sourcing = "volume"
    # Cluster credentials: members install into registered clusters but never see these.
    values_role = "admin"
    fields = (Field(FIELD, required=True, description="The kubeconfig, as YAML or base64 of it."),)

    def prepare(self, values: dict[str, str], ctx: Context) -> Prepared:
        text = kubeconfig_text(values[FIELD])
        try:
            parse_kubeconfig(text)
        except ValueError as exc:
            raise ValidationError({f"values.{FIELD}": f"The kubeconfig {exc}."}) from None
        if ctx.verify_remote:
            # Asking the cluster is the clusters feature's job; it registers the check.
            try:
                hooks.verify_kubeconfig(text)
            except ValueError as exc:
                raise ValidationError({f"values.{FIELD}": str(exc)}) from None
        return Prepared(values={FIELD: text})


TYPE = KubernetesType()
