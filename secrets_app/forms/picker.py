"""The new-secret form's type picker: every registered type in a group, with a few words
that say what it holds (the type's own description follows once it is picked)."""

from __future__ import annotations

from dataclasses import dataclass

from secrets_app.forms.inputs import type_label
from secrets_app.types import REGISTRY

# Group -> (type, what it holds). Every registered type is in exactly one group; a type
# missing here is shown under "Other" with its description (and a test says so).
TYPE_GROUPS: dict[str, tuple[tuple[str, str], ...]] = {
    "Passwords and keys": (
        ("password", "a username and a generated or typed password"),
        ("htpasswd", "an htpasswd line for HTTP Basic Auth, with its password"),
        ("ssh", "an SSH key pair, generated or supplied"),
        ("generic", "any keys and values you choose"),
    ),
    "Certificates": (
        ("tls", "a CA with server, client and peer certificates"),
        ("pkecert", "the CAs and service-account keys of a PKE Kubernetes cluster"),
    ),
    "Cloud providers": (
        ("amazon", "an AWS (Amazon Web Services) access key"),
        ("google", "a Google Cloud service-account key file"),
        ("azure", "an Azure service principal's client secret"),
        ("digitalocean", "a DigitalOcean API token"),
        ("cloudflare", "a Cloudflare API key and its account's email"),
        ("vsphere", "a VMware vSphere endpoint, its login and where nodes go"),
    ),
    "Clusters and platforms": (
        ("kubernetes", "a kubeconfig to reach a cluster"),
        ("registry", "a container registry login"),
        ("vault", "a Vault or OpenBao token"),
        ("fn", "the master token of an Fn (serverless functions) platform"),
    ),
    "Alerting": (
        ("slack", "a Slack incoming-webhook URL"),
        ("pagerduty", "a PagerDuty Events API integration key"),
    ),
}
OTHER = "Other"


@dataclass(frozen=True)
class TypeChoice:
    name: str
    label: str
    summary: str

    @property
    def text(self) -> str:
        """What the picker's option reads: the type (with the name the API and CLI use, when
        it reads differently), then what it holds."""
        named = self.label if self.label.lower() == self.name else f"{self.label} ({self.name})"
        return f"{named}: {self.summary}"


def type_groups() -> list[tuple[str, list[TypeChoice]]]:
    """The registered types by group, in the picker's order; unlisted ones under "Other"."""
    listed: set[str] = set()
    groups: list[tuple[str, list[TypeChoice]]] = []
    for group, members in TYPE_GROUPS.items():
        found = [TypeChoice(n, type_label(n), s) for n, s in members if n in REGISTRY]
        listed.update(choice.name for choice in found)
        if found:
            groups.append((group, found))
    rest = [
        TypeChoice(name, type_label(name), stype.description.rstrip("."))
        for name, stype in REGISTRY.items()
        if name not in listed
    ]
    if rest:
        groups.append((OTHER, rest))
    return groups
