"""Every route x every persona x every object kind, against the policy table.

The routes come from the resolver, not from a list kept here: a route whose view declares
no row (``policy_actions`` inside an organization, ``policy_audience`` outside one, or a
row of ``orgs.policy.LIBRARY_ROUTES`` for the libraries' routes) fails
``test_every_route_has_a_policy_row``, and every method a route serves is called as each
persona. What each persona must get is computed from the policy (``orgs.policy``), never
written here: allowed means anything but a refusal (401, 403, the sign-in redirect, the
organization's 404) and never a 500.

Personas: admin, member and viewer of org A (a session on pages, an unlimited token on the
API); API tokens of the admin capped at viewer and at member, and one limited to org B;
an outsider (admin of org B); anonymous. Object kinds: routes naming a secret run with an
ordinary secret (a password) and with an admin-only type (a kubeconfig).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import GroupMapping
from clusters.models import Cluster
from databases.models import DatabaseConnection, DatabaseLease, DatabaseRole
from governance.models import AccessGrant, AccessRequest, BreakGlass, ChangeRequest, ShareLink
from notifications.models import NotificationDelivery, NotificationTarget
from orgs import policy
from orgs import services as org_services
from orgs.models import Invitation, Membership, Role, User
from orgs.scoping import route_action
from secrets_app import services as secret_services
from secrets_app.types.base import Context
from tests.conftest import Personas

API = "/api/v1/"
ORG_NOT_FOUND = "Organization not found."
KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}
users:
- name: u
  user: {token: not-a-real-token}
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
"""


@dataclass(frozen=True)
class Route:
    path: str  # the pattern, e.g. "api/v1/orgs/<id:org_id>/secrets"
    name: str
    view: Any  # the view class, or the function for function views

    @property
    def is_api(self) -> bool:
        return self.path.startswith(API.lstrip("/"))

    @property
    def in_org(self) -> bool:
        return "<id:org_id>" in self.path

    @property
    def names_secret(self) -> bool:
        return "<secret_id:secret_id>" in self.path

    def methods(self) -> list[str]:
        """The methods the route serves (OPTIONS and HEAD follow GET and are left out)."""
        view = self.view
        if not isinstance(view, type):
            return ["GET"]
        instance = view()
        return [
            m.upper()
            for m in ("get", "post", "put", "patch", "delete")
            if m in getattr(view, "http_method_names", ()) and hasattr(instance, m)
        ]


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = p.namespace or ""
            full_ns = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from _walk(p.url_patterns, prefix + str(p.pattern), full_ns)
        elif isinstance(p, URLPattern):
            callback = p.callback
            view = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
            name = f"{namespace}:{p.name}" if namespace and p.name else (p.name or "")
            yield Route(prefix + str(p.pattern), name, view or callback)


def all_routes() -> list[Route]:
    seen: dict[str, Route] = {}
    for route in _walk(get_resolver().url_patterns):
        seen.setdefault(route.path, route)  # the first pattern of a path is the one served
    return list(seen.values())


def row_of(route: Route) -> dict[str, str] | None:
    """The route's row of the policy table: method -> action (in an org) or audience."""
    if route.in_org:
        return getattr(route.view, "policy_actions", None) or None
    own = getattr(route.view, "policy_audience", None)
    if own:
        return dict(own)
    audience = policy.LIBRARY_ROUTES.get(route.name or route.path)
    return {m: audience for m in route.methods()} if audience else None


ROUTES = all_routes()
ORG_ROUTES = [r for r in ROUTES if r.in_org]


def test_every_route_has_a_policy_row() -> None:
    missing = []
    for route in ROUTES:
        row = row_of(route)
        if row is None:
            missing.append(f"{route.path} ({route.name or 'unnamed'})")
            continue
        for method in route.methods():
            if method not in row:
                missing.append(f"{method} {route.path}")
            elif route.in_org:
                assert row[method] in policy.ACTIONS, (route.path, row[method])
            else:
                assert row[method] in policy.AUDIENCES, (route.path, row[method])
    assert not missing, "Routes without a row in the policy table:\n" + "\n".join(missing)


def coverage_line() -> str:
    """What the matrix walks (printed at the end of the run by tests/conftest.py)."""
    methods = sum(len(r.methods()) for r in ROUTES)
    calls = sum(
        len(API_PERSONAS if p.values[0].is_api else PAGE_PERSONAS)
        for p in [*_cases(), *_outside_cases()]
    )
    return (
        f"policy matrix: {len(ROUTES)} routes ({len(ORG_ROUTES)} in organizations), "
        f"{methods} route-methods, {len(list(_cases()))} org cases (route x method x object "
        f"kind) and {len(list(_outside_cases()))} outside, {calls} persona calls"
    )


# --------------------------------------------------------------------------- the world


@dataclass
class World:
    personas: Personas
    ids: dict[str, str]
    kinds: dict[str, str]  # object kind -> secret id
    api: dict[str, APIClient]
    pages: dict[str, Client]


API_PERSONAS = (
    "anonymous",
    "outsider",
    "token_other_org",
    "viewer",
    "token_viewer",
    "member",
    "token_member",
    "admin",
)
PAGE_PERSONAS = ("anonymous", "outsider", "viewer", "member", "admin")
ROLE_OF = {
    "viewer": Role.VIEWER,
    "token_viewer": Role.VIEWER,
    "member": Role.MEMBER,
    "token_member": Role.MEMBER,
    "admin": Role.ADMIN,
}


def _api_client(raw: str | None) -> APIClient:
    client = APIClient()
    if raw:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _token(user: User, **limits: Any) -> str:
    return org_services.token_create(user=user, name="matrix", **limits)[1]


def _secret(personas: Personas, name: str, type_name: str, values: dict[str, str]) -> str:
    written = secret_services.secret_create(
        actor=personas.admin,
        organization=personas.org,
        name=name,
        type=type_name,
        values=values,
        tags=["env:test"],
        ctx=Context(verify_remote=False),
    )
    return written.row.secret_id


@pytest.fixture
def world(personas: Personas, vault: Any) -> World:
    org, admin = personas.org, personas.admin
    Membership.objects.create(user=admin, organization=personas.other_org, role=Role.VIEWER)
    kinds = {
        "ordinary": _secret(personas, "db-pass", "password", {"username": "u", "password": "p"}),
        "admin-only": _secret(personas, "kube-admin", "kubernetes", {"K8Sconfig": KUBECONFIG}),
    }
    cluster = Cluster.objects.create(
        organization=org, name="c1", kubeconfig_secret_id=kinds["admin-only"]
    )
    invitation = Invitation.objects.create(
        organization=org,
        email="carol@example.com",
        role=Role.MEMBER,
        token_hash="0" * 64,
        invited_by=admin.username,
        expires_at=timezone.now() + timedelta(days=1),
    )
    mapping = GroupMapping.objects.create(organization=org, group="ops", role=Role.VIEWER)
    target = NotificationTarget.objects.create(
        organization=org, name="t", kind=NotificationTarget.Kind.EMAIL, emails=["a@example.com"]
    )
    delivery = NotificationDelivery.objects.create(
        organization=org, target=target, event="test", subject="matrix"
    )
    connection = DatabaseConnection.objects.create(
        organization=org, name="db", engine="postgresql", host="db.invalid", port=5432,
        database="app", username="root",
    )  # fmt: skip
    role = DatabaseRole.objects.create(
        organization=org, connection=connection, name="ro", preset="read-only",
        default_ttl=60, max_ttl=120,
    )  # fmt: skip
    now = timezone.now()
    lease = DatabaseLease.objects.create(
        organization=org, role=role, vault_lease_id=f"database/creds/{role.vault_name}/x",
        username="v-x", issued_by="alice", expires_at=now + timedelta(hours=1),
        max_expires_at=now + timedelta(hours=1),
    )  # fmt: skip
    link = ShareLink.objects.create(
        organization=org, secret_id=kinds["ordinary"], secret_name="db-pass",
        wrap_accessor="not-an-accessor", created_by=admin.username,
        expires_at=now + timedelta(hours=1),
    )  # fmt: skip
    broken = BreakGlass.objects.create(
        organization=org, secret_id=kinds["ordinary"], secret_name="db-pass",
        username="vera", justification="the matrix breaks glass",
    )  # fmt: skip
    # Temporary access: the viewer's pending request; a grant that lifts nobody (expired).
    asked = AccessRequest.objects.create(
        organization=org, user=personas.viewer, role=Role.MEMBER, duration_seconds=3600,
        reason="matrix",
    )  # fmt: skip
    grant = AccessGrant.objects.create(
        organization=org, user=personas.viewer, role=Role.MEMBER, granted_by=admin.username,
        starts_at=now - timedelta(hours=2), expires_at=now - timedelta(hours=1),
    )  # fmt: skip
    change = ChangeRequest.objects.create(
        organization=org, secret_id=kinds["ordinary"], secret_name="db-pass", kind="update",
        requested_by="mike", requester=personas.member, expires_at=now + timedelta(days=1),
    )  # fmt: skip
    ids = {
        "link_id": link.public_id,
        "org_id": str(org.pk),
        "breakglass_id": str(broken.pk),
        "access_request_id": str(asked.pk),
        "access_grant_id": str(grant.pk),
        "change_id": str(change.pk),
        "connection_id": str(connection.pk),
        "role_id": str(role.pk),
        "lease_id": lease.public_id,
        "token_id": str(org_services.token_create(user=admin, name="to-revoke")[0].pk),
        "cluster_id": str(cluster.pk),
        "user_id": str(personas.viewer.pk),
        "invitation_id": str(invitation.pk),
        "mapping_id": str(mapping.pk),
        "target_id": str(target.pk),
        "delivery_id": str(delivery.pk),
        "version": "1",
    }
    api = {
        "anonymous": _api_client(None),
        "outsider": _api_client(_token(personas.outsider)),
        "token_other_org": _api_client(_token(admin, organization_id=personas.other_org.pk)),
        "viewer": _api_client(_token(personas.viewer)),
        "token_viewer": _api_client(_token(admin, max_role=Role.VIEWER)),
        "member": _api_client(_token(personas.member)),
        "token_member": _api_client(_token(admin, max_role=Role.MEMBER)),
        "admin": _api_client(_token(admin)),
    }
    pages: dict[str, Client] = {"anonymous": Client()}
    for name in ("outsider", "viewer", "member", "admin"):
        pages[name] = Client()
        pages[name].force_login(personas.user(name))
    return World(personas, ids, kinds, api, pages)


FILLERS = {
    "str:type": "password",
    "str:name": "matrix-copy",
    "path:tag": "env:test",
    "str:field": "password",
    "str:token": "not-an-invitation",
}


def concrete(path: str, ids: dict[str, str], secret_id: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1).partition(":")[2]
        if name == "secret_id":
            return secret_id
        if name in ids:
            return ids[name]
        return FILLERS.get(match.group(1), "x")

    return "/" + re.sub(r"<([^>]+)>", fill, path)


# --------------------------------------------------------------------------- expectations


OUTSIDERS = ("outsider", "token_other_org")


def _is_org_not_found(persona: str, response: Any) -> bool:
    """The organization's 404. An outsider gets nothing else; a member may also meet an
    object's 404 (a secret an earlier persona's call deleted), which is no refusal."""
    if response.status_code != 404:
        return False
    return persona in OUTSIDERS or ORG_NOT_FOUND.encode() in response.content


def _refused(route: Route, persona: str, response: Any) -> str | None:
    """How the answer refuses the caller, or None when it lets them through."""
    status = response.status_code
    if status == 401:
        return "401"
    if status == 403:
        return "403"
    if status == 302 and "/accounts/login/" in response.get("Location", ""):
        return "login"
    if route.in_org and _is_org_not_found(persona, response):
        return "404"
    return None


def expected_in_org(route: Route, persona: str, action: str, obj: Any) -> str | None:
    if persona == "anonymous":
        return "401" if route.is_api else "login"
    if persona in OUTSIDERS:
        return "404"
    role = ROLE_OF[persona]
    return None if Role.allows(role, policy.needed_role(action, obj)) else "403"


def expected_outside(route: Route, persona: str, audience: str) -> str | None:
    if audience == policy.PUBLIC:
        return None
    if audience == policy.AGENT:
        return "401"  # a person is never an agent, whatever they hold
    if persona == "anonymous":
        return "401" if route.is_api else "login"
    limited = persona in ("token_viewer", "token_member", "token_other_org")
    token = route.is_api
    if audience == policy.SESSION and token:
        return "403"
    if audience in (policy.UNLIMITED, policy.ORG_CREATORS) and limited:
        return "403"
    return None


def _cases() -> Iterator[Any]:
    for route in ORG_ROUTES:
        for method in route.methods():
            kinds = ("ordinary", "admin-only") if route.names_secret else ("ordinary",)
            for kind in kinds:
                yield pytest.param(route, method, kind, id=f"{method} /{route.path} [{kind}]")


def _call(client: Any, method: str, url: str, is_api: bool) -> Any:
    call = getattr(client, method.lower())
    if method == "GET" or method == "DELETE":
        return call(url)
    if is_api:
        return call(url, {}, format="json")
    return call(url, {})


@pytest.mark.parametrize(("route", "method", "kind"), list(_cases()))
def test_org_route_answers_each_persona_as_the_policy_says(
    world: World, route: Route, method: str, kind: str
) -> None:
    row = row_of(route)
    assert row is not None and method in row, f"no policy row for {method} /{route.path}"
    action = route_action(row, method)
    assert action is not None
    obj = None
    if route.names_secret:
        from secrets_app.models import SecretIndex

        obj = SecretIndex.objects.get(secret_id=world.kinds[kind])
    url = concrete(route.path, world.ids, world.kinds[kind])
    personas = API_PERSONAS if route.is_api else PAGE_PERSONAS
    clients = world.api if route.is_api else world.pages
    for persona in personas:
        response = _call(clients[persona], method, url, route.is_api)
        assert response.status_code < 500, (persona, method, url, response.content[:300])
        got = _refused(route, persona, response)
        want = expected_in_org(route, persona, action, obj)
        assert got == want, (
            persona,
            method,
            url,
            action,
            response.status_code,
            response.content[:300],
        )


def _outside_cases() -> Iterator[Any]:
    for route in ROUTES:
        if route.in_org or "(?P<" in route.path:
            continue
        for method in route.methods():
            yield pytest.param(route, method, id=f"{method} /{route.path}")


@pytest.mark.parametrize(("route", "method"), list(_outside_cases()))
def test_route_outside_orgs_answers_each_persona_as_declared(
    world: World, route: Route, method: str
) -> None:
    row = row_of(route)
    assert row is not None and method in row
    audience = row[method]
    url = concrete(route.path, world.ids, world.kinds["ordinary"])
    personas = API_PERSONAS if route.is_api else PAGE_PERSONAS
    clients = world.api if route.is_api else world.pages
    for persona in personas:
        response = _call(clients[persona], method, url, route.is_api)
        assert response.status_code < 500, (persona, method, url, response.content[:300])
        want = expected_outside(route, persona, audience)
        if audience == policy.ORG_CREATORS and persona != "anonymous" and want is None:
            user = world.personas.admin if persona.startswith("token") else None
            user = user or world.personas.user(persona)
            want = None if policy.may_create_organizations(user) else "403"
        if audience == policy.PUBLIC:
            continue  # anyone may call it; what it answers is the flow's business
        got = _refused(route, persona, response)
        if want is None:
            assert got is None, (persona, method, url, response.status_code)
        else:
            assert got is not None, (persona, method, url, response.status_code)


def test_the_readme_policy_table_is_the_policy(repo_root: Any) -> None:
    readme = (repo_root / "README.md").read_text()
    for action, role, help_text in policy.table():
        assert f"| `{action}` | {role} | {help_text} |" in readme, action
