"""Secret lifecycle hooks: how ``secrets_app`` tells the apps above it what happened.

``secrets_app`` must not import the apps that build on it (``clusters``), yet they must hear
of every write and delete. They register here, in their ``AppConfig.ready()``:

- ``before_delete(organization, secret_id)`` may veto a delete by raising ``ConflictError``;
- ``after_write(organization, secret_id)`` runs for every new version of an existing
  secret (updates, tag changes, rollbacks, rotations, renewals), inside the transaction that
  writes its index row, so work it records (task rows) commits with the change or not at
  all; it returns per-item results for the caller;
- ``after_delete(organization, secret_id)`` runs once the secret is gone;
- ``installations_of(organization, secret_ids)`` lists where the secrets are installed
  (objects with ``secret_id``, ``cluster.name``, ``namespace`` and ``kube_name``), for pages
  that warn before a delete;
- ``hold(change)`` takes a change the policy holds for approval (``policy.hold``): a
  ``HeldChange`` naming the secret, its version, the proposed document (None: a delete)
  and what the write would record; the hook keeps it and raises what the caller answers
  (``Accepted``: 202). With no hook registered a held change is refused (409);
- ``verify_kubeconfig(text)`` checks a kubeconfig against its cluster (raising
  ``ValueError`` with a message safe to show), for the ``kubernetes`` type's remote check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pipeline_secrets.core.errors import ConflictError

if TYPE_CHECKING:
    from orgs.models import Organization


class SecretHook(Protocol):
    def __call__(self, *, organization: Organization, secret_id: str) -> Any: ...


class SecretsReader(Protocol):
    def __call__(self, *, organization: Organization, secret_ids: list[str]) -> Any: ...


ItemResults = list[dict[str, Any]]


@dataclass(frozen=True)
class HeldChange:
    """A change the policy holds: ``action`` is the policy action asked, ``audit_as`` the
    write's audit action (``secret.update``, ``secret.delete``, ...), ``document`` the
    proposed Vault document (None for a delete), ``detail`` the write's audit detail."""

    organization: Organization
    secret_id: str
    secret_name: str
    actor: Any
    action: str
    audit_as: str
    base_version: int
    current: dict[str, Any]
    document: dict[str, Any] | None
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)


# The registered hooks, in registration order (tests read and replace them).

BEFORE_DELETE: list[SecretHook] = []
AFTER_WRITE: list[SecretHook] = []
AFTER_DELETE: list[SecretHook] = []
KUBECONFIG_VERIFIERS: list[Callable[[str], None]] = []
INSTALLATION_READERS: list[SecretsReader] = []
HOLDERS: list[Callable[[HeldChange], None]] = []


def _register(hooks: list[Any], hook: Any) -> None:
    # ready() may run more than once (tests, management commands): register once.
    if hook not in hooks:
        hooks.append(hook)


def on_before_delete(hook: SecretHook) -> None:
    _register(BEFORE_DELETE, hook)


def on_after_write(hook: SecretHook) -> None:
    _register(AFTER_WRITE, hook)


def on_after_delete(hook: SecretHook) -> None:
    _register(AFTER_DELETE, hook)


def on_installations(hook: SecretsReader) -> None:
    _register(INSTALLATION_READERS, hook)


def on_verify_kubeconfig(hook: Callable[[str], None]) -> None:
    _register(KUBECONFIG_VERIFIERS, hook)


def on_hold(hook: Callable[[HeldChange], None]) -> None:
    _register(HOLDERS, hook)


def hold(change: HeldChange) -> None:
    """Hand a held change to the app that keeps it (which raises); refuse it when none."""
    for hook in HOLDERS:
        hook(change)
    raise ConflictError(f"Changes to {change.secret_name} need an approval, which is not set up.")


def before_delete(*, organization: Organization, secret_id: str) -> None:
    for hook in BEFORE_DELETE:
        hook(organization=organization, secret_id=secret_id)


def after_write(*, organization: Organization, secret_id: str) -> ItemResults:
    results: ItemResults = []
    for hook in AFTER_WRITE:
        results.extend(hook(organization=organization, secret_id=secret_id) or [])
    return results


def after_delete(*, organization: Organization, secret_id: str) -> None:
    for hook in AFTER_DELETE:
        hook(organization=organization, secret_id=secret_id)


def verify_kubeconfig(text: str) -> None:
    for hook in KUBECONFIG_VERIFIERS:
        hook(text)


def installations_of(*, organization: Organization, secret_ids: list[str]) -> list[Any]:
    found: list[Any] = []
    for hook in INSTALLATION_READERS:
        found.extend(hook(organization=organization, secret_ids=secret_ids) or [])
    return found


def installations(*, organization: Organization, secret_id: str) -> list[Any]:
    return installations_of(organization=organization, secret_ids=[secret_id])
