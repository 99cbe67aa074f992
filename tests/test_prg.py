"""Post/redirect/get (item 1 of the dashboard's third pass): every dashboard route that
accepts POST comes from the URL resolver; each is either driven here (a successful plain
form POST must answer a redirect, and reloading the page it redirects to changes nothing:
no version, installation, audit row or notification more) or listed with the reason it
answers otherwise. A new POST route fails ``test_every_post_route_is_driven_or_justified``
until it is classified."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from audit.models import AuditEvent
from clusters import services as cluster_services
from clusters.models import Cluster, Installation
from notifications import services as notifications
from notifications.models import NotificationDelivery
from orgs import invitations
from orgs import services as org_services
from secrets_app import services
from secrets_app.models import SecretIndex
from tests.conftest import Personas, VaultServer
from tests.test_clusters import new_namespace
from tests.test_dashboard import signed_in
from tools.devstack.pytest_plugin import ControlPlane

pytestmark = pytest.mark.django_db

# Routes whose successful POST does not answer a redirect, and why.
ANSWERS_IN_PLACE = {
    # Reveals change nothing (an audit row only) and answer the value: it may not be kept
    # anywhere for a later GET.
    "secrets:values": "reveals a value (no state changes)",
    "secrets:value": "reveals a value (no state changes)",
    "secrets:version-value": "reveals a value of an old version (no state changes)",
    "secrets:edit-reveal": "reveals a value into the edit form (no state changes)",
    "secrets:download-env": "answers a file of the values (no state changes)",
    "governance:breakglass-reveal": "reveals a value after a justification, once",
    "governance:share-open": "opens a one-time link: its value exists only in that answer",
    # Tokens and credentials that exist only once (hashed, or leased): shown in the POST's
    # answer with Cache-Control: no-store, never kept for a GET.
    "dashboard:tokens": "an API token shown once (hashed in the database)",
    "clusters:agent-token-rotate": "an agent token shown once (hashed in the database)",
    "governance:secret-share": "a one-time share link shown once (hashed in the database)",
    "databases:issue": "leased database credentials shown once (never stored)",
    # htmx-only fragments and the sign-in flows of the libraries.
    "device": "the CLI's device sign-in (a code entry, no dashboard state)",
    "invitation": "accepting an invitation signs in and joins (covered by its own tests)",
    "oidc_logout": "the OIDC library's sign-out",
    "account_reset_password_from_key": "the account library's password reset",
}
# Routes driven by the tests of the part of the product that owns them (their own
# post/redirect/get tests), not here: they need services this module does not start.
DRIVEN_ELSEWHERE = {
    "databases:connection-create": "needs a database server (tests/test_databases_*.py)",
    "databases:role-create": "needs a database server (tests/test_databases_*.py)",
    "databases:rotate-root": "needs a database server (tests/test_databases_*.py)",
    "databases:connection-delete": "needs a database server (tests/test_databases_*.py)",
    "databases:install": "needs a database server (tests/test_databases_*.py)",
    "databases:role-delete": "needs a database server (tests/test_databases_*.py)",
    "databases:revoke": "needs a database server (tests/test_databases_*.py)",
    "governance:change-approve": "needs a held change (tests/test_governance_changes*.py)",
    "governance:change-reject": "needs a held change (tests/test_governance_changes*.py)",
    "governance:change-withdraw": "needs a held change (tests/test_governance_changes*.py)",
    "governance:access-approve": "needs an access request (tests/test_governance_access.py)",
    "governance:access-reject": "needs an access request (tests/test_governance_access.py)",
    "governance:access-revoke": "needs an access grant (tests/test_governance_access.py)",
    "governance:breakglass-acknowledge": "needs a break-glass (test_governance_breakglass.py)",
    "governance:share-revoke": "needs a share link (tests/test_governance_sharing.py)",
    "governance:access": "an access request form (tests/test_governance_access.py)",
    "governance:protection": "protection rules (tests/test_governance_changes_pages.py)",
    "setup": "the first run's set-up form (tests/test_first_run.py)",
    "dashboard:member-add": "adds or invites (tests/test_invitations*.py)",
    "dashboard:invites": "invites by e-mail (tests/test_invitations*.py)",
    "notifications:add": "adds a target (tests/test_notifications_*.py)",
    "notifications:edit": "edits a target (tests/test_notifications_targets.py)",
    "accounts:groups": "maps a directory group (tests/test_signin_settings.py)",
    "accounts:github-link": "links a GitHub organization (tests/test_signin_github.py)",
    "accounts:group-delete": "needs a trusted directory group (tests/test_signin_settings.py)",
    "dashboard:org-create": "who may create organizations is a setting (test_dashboard_orgs.py)",
}


def post_routes() -> Iterator[tuple[str, str]]:
    """(name, pattern) of every page route (not the API, not the libraries' account pages)
    whose view serves POST."""

    def walk(patterns: list[Any], prefix: str, namespace: str) -> Iterator[tuple[str, str, Any]]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = entry.namespace or ""
                joined = f"{namespace}:{inner}" if namespace and inner else inner or namespace
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), joined)
            elif isinstance(entry, URLPattern):
                name = f"{namespace}:{entry.name}" if namespace else entry.name or ""
                yield name, prefix + str(entry.pattern), entry.callback

    for name, pattern, callback in walk(get_resolver().url_patterns, "", ""):
        view = getattr(callback, "view_class", None)
        if pattern.startswith(("api/", "accounts/")) or view is None:
            continue
        if "post" in view.http_method_names and hasattr(view, "post"):
            yield name, pattern


@dataclass
class World:
    personas: Personas
    client: Client
    cluster: Cluster
    namespace: str
    generic: SecretIndex
    password: SecretIndex
    victims: list[SecretIndex]

    def org(self, suffix: str) -> str:
        return f"/orgs/{self.personas.org.pk}/{suffix}"

    def secret(self, row: SecretIndex, suffix: str = "") -> str:
        return self.org(f"secrets/{row.secret_id}/{suffix}")

    def on_cluster(self, suffix: str) -> str:
        return self.org(f"clusters/{self.cluster.pk}/{suffix}")

    def installed(self, row: SecretIndex) -> Installation:
        cluster_services.install(
            actor=self.personas.admin,
            cluster=self.cluster,
            namespace=self.namespace,
            query=cluster_services.InstallQuery(ids=[row.secret_id]),
        )
        return Installation.objects.get(secret_id=row.secret_id, namespace=self.namespace)


Case = Callable[[World], tuple[str, dict[str, Any]]]


def _uninstall(world: World) -> tuple[str, dict[str, Any]]:
    item = world.installed(world.generic)
    return world.on_cluster("uninstall/"), {"namespace": item.namespace, "name": item.kube_name}


def _secret_uninstall(world: World) -> tuple[str, dict[str, Any]]:
    item = world.installed(world.generic)
    url = world.org(f"clusters/installations/{world.generic.secret_id}/uninstall/")
    return url, {"installation": str(item.pk)}


CASES: dict[str, Case] = {
    "secrets:create": lambda w: (
        w.org("secrets/new/"),
        {"name": "fresh", "type": "password", "v_username": "u", "verify": "on"},
    ),
    "secrets:bulk-tag": lambda w: (
        w.org("secrets/bulk/tag/"),
        {"id": [w.generic.secret_id], "confirm": "1", "tag": "team:x", "mode": "add"},
    ),
    "secrets:bulk-delete": lambda w: (
        w.org("secrets/bulk/delete/"),
        {"id": [w.victims[0].secret_id], "confirm": "1", "count": "1"},
    ),
    "secrets:tag-add": lambda w: (w.secret(w.generic, "tags/add/"), {"tag": "team:y"}),
    "secrets:tag-remove": lambda w: (w.secret(w.password, "tags/remove/"), {"tag": "team:core"}),
    "secrets:edit": lambda w: (
        w.secret(w.generic, "edit/"),
        {"version": str(w.generic.version), "verify": "on", "pair_key_0": "X", "pair_value_0": "1"},
    ),
    "secrets:delete": lambda w: (w.secret(w.victims[1], "delete/"), {"confirm_name": ""}),
    "secrets:rollback": lambda w: (w.secret(w.generic, "versions/1/rollback/"), {"current": "2"}),
    "secrets:destroy-version": lambda w: (w.secret(w.generic, "versions/1/destroy/"), {}),
    "secrets:rotation": lambda w: (w.secret(w.password, "rotation/"), {"every": "7d"}),
    "secrets:rotate": lambda w: (w.secret(w.password, "rotate/"), {}),
    "clusters:create": lambda w: (
        w.org("clusters/new/"),
        {"name": "second", "mode": "kubeconfig", "secret": w.cluster.kubeconfig_secret_id},
    ),
    "clusters:bulk-install": lambda w: (
        w.org("clusters/bulk-install/"),
        {
            "id": [w.generic.secret_id],
            "confirm": "1",
            "cluster": str(w.cluster.pk),
            "namespace": w.namespace,
        },
    ),
    "clusters:check": lambda w: (w.on_cluster("check/"), {}),
    "clusters:install": lambda w: (
        w.on_cluster("install/"),
        {"namespace": w.namespace, "ids": [w.generic.secret_id]},
    ),
    "clusters:install-one": lambda w: (
        w.on_cluster("install-one/"),
        {
            "one-secret": w.generic.name,
            "one-name": "mapped",
            "one-namespace": w.namespace,
            "one-mapping": "A=HOST",
        },
    ),
    "clusters:uninstall": _uninstall,
    "clusters:namespace-rule": lambda w: (
        w.on_cluster("namespace-rule/"),
        {"allow": "app-*", "deny": ""},
    ),
    "clusters:delete": lambda w: (w.on_cluster("delete/"), {}),
    "clusters:secret-install": lambda w: (
        w.org(f"clusters/installations/{w.generic.secret_id}/install/"),
        {"inst-cluster": str(w.cluster.pk), "inst-namespace": w.namespace},
    ),
    "clusters:secret-uninstall": _secret_uninstall,
}


def _member(w: World, action: str) -> str:
    return w.org(f"members/{w.personas.viewer.pk}/{action}/")


def _token_revoke(w: World) -> tuple[str, dict[str, Any]]:
    token, _ = org_services.token_create(user=w.personas.admin, name="ci")
    return f"/account/tokens/{token.pk}/revoke/", {}


def _invitation(w: World, action: str) -> tuple[str, dict[str, Any]]:
    invitation, _ = invitations.invitation_create(
        actor=w.personas.admin,
        organization=w.personas.org,
        email="new@example.org",
        role="viewer",
        base_url="http://testserver/",
    )
    return w.org(f"invites/{invitation.pk}/{action}/"), {}


def _target(w: World, action: str) -> tuple[str, dict[str, Any]]:
    target, _ = notifications.target_create(
        actor=w.personas.admin,
        organization=w.personas.org,
        kind="email",
        name="ops",
        emails=["ops@example.org"],
    )
    return w.org(f"notifications/{target.pk}/{action}/"), {}


CASES.update(
    {
        "dashboard:member-role": lambda w: (_member(w, "role"), {"role": "member"}),
        "dashboard:member-remove": lambda w: (_member(w, "remove"), {}),
        "dashboard:token-revoke": _token_revoke,
        "dashboard:invite-revoke": lambda w: _invitation(w, "revoke"),
        "dashboard:invite-resend": lambda w: _invitation(w, "resend"),
        "notifications:remove": lambda w: _target(w, "remove"),
        "notifications:test": lambda w: _target(w, "test"),
    }
)
# Routes of an agent-mode cluster (the world's cluster is a kubeconfig one).
AGENT_ROUTES = {"clusters:scope", "clusters:agent-token-revoke"}


def test_every_post_route_is_driven_or_justified() -> None:
    known = set(CASES) | set(ANSWERS_IN_PLACE) | set(DRIVEN_ELSEWHERE) | AGENT_ROUTES
    found = {name for name, _ in post_routes()}
    assert found - known == set()
    assert set(CASES) <= found  # no stale case


@pytest.fixture
def world(vault: VaultServer, personas: Personas, kube_control_plane: ControlPlane) -> World:
    def make(name: str, type: str, values: dict[str, str]) -> SecretIndex:
        return services.secret_create(
            actor=personas.admin,
            organization=personas.org,
            name=name,
            type=type,
            values=values,
            tags=["team:core"],
        ).row

    generic = make("app-config", "generic", {"HOST": "db.local"})
    generic = services.secret_update(
        actor=personas.admin,
        organization=personas.org,
        secret_id=generic.secret_id,
        values={"HOST": "db.example"},
    ).row
    cluster = cluster_services.cluster_create(
        actor=personas.admin,
        organization=personas.org,
        name="dev",
        kubeconfig=kube_control_plane.admin_kubeconfig(),
    )
    return World(
        personas=personas,
        client=signed_in(personas, "admin"),
        cluster=cluster,
        namespace=new_namespace("prg"),
        generic=generic,
        password=make("db", "password", {"username": "u"}),
        victims=[make(f"old-{i}", "generic", {"K": "v"}) for i in range(2)],
    )


def state() -> tuple[Any, ...]:
    """What a reload must not change."""
    return (
        sorted(SecretIndex.objects.values_list("name", "version")),
        Installation.objects.count(),
        Cluster.objects.count(),
        AuditEvent.objects.exclude(action="secret.read").count(),
        NotificationDelivery.objects.count(),
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_successful_post_redirects_and_a_reload_changes_nothing(world: World, name: str) -> None:
    """Item 1: post/redirect/get on every driven route; reloading the result is harmless."""
    url, data = CASES[name](world)
    before = AuditEvent.objects.count()
    response = world.client.post(url, data)
    assert response.status_code == 302, (name, response.status_code)
    assert AuditEvent.objects.count() > before or name == "clusters:check", name
    location = response["Location"]
    first = world.client.get(location)
    assert first.status_code in (200, 302), (name, location)
    after_first = state()
    reloaded = world.client.get(location)
    assert reloaded.status_code in (200, 302), (name, location)
    assert state() == after_first, name
