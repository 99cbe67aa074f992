"""Who may do what: the one policy of the product.

Every decision about a caller's right to act is answered here, below the views: services
and selectors ask ``require(standing, action, obj)``; views only name the action a route
performs (``policy_actions``) and turn a refusal into a 403 (a 404 for another org's
object, which the org-scoped querysets already give).

An action is a name such as ``secret.values.read``. ``ACTIONS`` holds, for each, the
weakest organization role allowed. Apps above this one add object rules in their
``AppConfig.ready()`` (``register_object_rule``): a rule may only ask for *more* than the
action's role (the values of a ``kubernetes`` secret need ``admin``; a namespace outside a
cluster's rule needs ``admin``), never less. API tokens are held to their limits before
the policy is asked: ``orgs.scoping`` resolves the membership with its role capped to the
token's, and an org outside the token's limit is not found. A membership whose role falls
short may be lifted by a live temporary grant (``register_grant_source``), never above its
token's limit.

The worker and the periodic command act as ``SYSTEM``: they re-sync copies that an allowed
caller installed, connect to clusters with their credentials and deliver notifications;
they never show values to a person, so object rules do not apply to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied

from orgs.models import Membership, Organization, Role, User

# Who may call a route with no organization in it (a view's ``policy_audience``).
PUBLIC = "public"  # anyone, signed in or not
SIGNED_IN = "signed_in"  # any signed-in account, by session or API token
SESSION = "session"  # a signed-in session: no API token may (token management)
UNLIMITED = "unlimited"  # a session or a token limited to no organization and no role
ORG_CREATORS = "org_creators"  # UNLIMITED, and whom ORG_CREATION allows (see below)
AGENT = "agent"  # an agent-mode cluster's agent, by its token: no person, no API token
AUDIENCES = (PUBLIC, SIGNED_IN, SESSION, UNLIMITED, ORG_CREATORS, AGENT)

# Routes of the libraries the product mounts (sign-in, OpenID Connect, the API schema,
# probes), by URL name, or by path where the library names none: the audience of every
# method they serve (the libraries check sign-in themselves). Routes of the product's own
# views are declared on the view (``policy_actions`` inside an organization,
# ``policy_audience`` outside); the route x persona test reads all three.
LIBRARY_ROUTES: dict[str, str] = {
    "healthz": PUBLIC,
    "readyz": PUBLIC,
    "metrics": PUBLIC,
    "openapi": PUBLIC,
    "api-docs": PUBLIC,
    "logout": PUBLIC,
    "account_login": PUBLIC,
    "account_logout": PUBLIC,
    "account_inactive": PUBLIC,
    "account_signup": PUBLIC,
    "account_reauthenticate": SESSION,
    "account_request_reauthentication_code": SESSION,
    "account_confirm_reauthentication_code": SESSION,
    "account_email": SESSION,
    "account_email_verification_sent": PUBLIC,
    "account_change_password": SESSION,
    "account_set_password": SESSION,
    "account_reset_password": PUBLIC,
    "account_confirm_login_code": PUBLIC,
    "account_confirm_email": PUBLIC,
    "account_reset_password_from_key_done": PUBLIC,
    "account_reset_password_from_key": PUBLIC,
    "account_reset_password_done": PUBLIC,
    "socialaccount_login_cancelled": PUBLIC,
    "socialaccount_login_error": PUBLIC,
    "socialaccount_signup": PUBLIC,
    "socialaccount_connections": SESSION,
    "accounts/social/login/cancelled/": PUBLIC,
    "accounts/social/login/error/": PUBLIC,
    "accounts/social/signup/": PUBLIC,
    "accounts/social/connections/": PUBLIC,
    "github_login": PUBLIC,
    "github_callback": PUBLIC,
    "oidc_authentication_callback": PUBLIC,
    "oidc_authentication_init": PUBLIC,
    "oidc_logout": PUBLIC,
}

ACTIONS: dict[str, str] = {
    # The organization itself and its people.
    "org.view": Role.VIEWER,
    "org.manage": Role.ADMIN,
    "member.view": Role.VIEWER,
    "member.manage": Role.ADMIN,
    "invitation.manage": Role.ADMIN,
    "signin.manage": Role.ADMIN,
    "activity.view": Role.ADMIN,
    "notification.manage": Role.ADMIN,
    # Secrets: metadata, values, lifecycle.
    "secret.list": Role.VIEWER,
    "secret.view": Role.VIEWER,
    "secret.values.read": Role.MEMBER,
    "secret.values.write": Role.MEMBER,
    "secret.tag": Role.MEMBER,
    "secret.delete": Role.MEMBER,
    "secret.versions": Role.VIEWER,
    "secret.version.destroy": Role.ADMIN,
    "secret.rotate": Role.MEMBER,
    # Clusters and what is installed in them.
    "cluster.list": Role.VIEWER,
    "cluster.view": Role.VIEWER,
    "cluster.manage": Role.ADMIN,
    "cluster.check": Role.MEMBER,
    "cluster.install": Role.MEMBER,
    "cluster.uninstall": Role.MEMBER,
    "cluster.restart": Role.MEMBER,
    # Dynamic database credentials: connections and roles (admins), credentials (members).
    "database.list": Role.VIEWER,
    "database.manage": Role.ADMIN,
    "database.credentials": Role.MEMBER,
    "database.leases": Role.MEMBER,
    "database.revoke": Role.MEMBER,
    "database.install": Role.MEMBER,
    # Governance: protection and change requests, temporary access, break-glass, sharing.
    "protection.manage": Role.ADMIN,
    "change.list": Role.VIEWER,
    "change.decide": Role.ADMIN,
    "change.withdraw": Role.MEMBER,
    "access.request": Role.VIEWER,
    "access.decide": Role.ADMIN,
    "breakglass.reveal": Role.VIEWER,
    "breakglass.acknowledge": Role.ADMIN,
    "secret.share": Role.MEMBER,
}

ACTION_HELP: dict[str, str] = {
    "org.view": "see the organization",
    "org.manage": "rename or delete the organization",
    "member.view": "list members and their roles",
    "member.manage": "invite, change roles, remove members",
    "invitation.manage": "create, resend and revoke invitations",
    "signin.manage": "link GitHub organizations and directory groups",
    "activity.view": "read and export the organization's activity",
    "notification.manage": "manage notification targets and read deliveries",
    "secret.list": "list secrets (names, types, tags, masked values)",
    "secret.view": "read a secret's metadata",
    "secret.values.read": "read a secret's values (also: install, export, download)",
    "secret.values.write": "create or change a secret's values (update, rollback)",
    "secret.tag": "add and remove tags",
    "secret.delete": "delete a secret",
    "secret.versions": "list a secret's versions",
    "secret.version.destroy": "destroy a version for good",
    "secret.rotate": "rotate now, set a rotation schedule",
    "cluster.list": "list clusters",
    "cluster.view": "see a cluster and what is installed in it",
    "cluster.manage": "register, edit, delete clusters and their namespace rule",
    "cluster.check": "contact a cluster now to check it",
    "cluster.install": "install secrets into a namespace the cluster's rule allows",
    "cluster.uninstall": "remove an installed copy",
    "cluster.restart": "name workloads to restart, in an allowed namespace",
    "database.list": "list database connections and roles (never a password)",
    "database.manage": "add, change, delete connections and roles; rotate a root credential",
    "database.credentials": "issue database credentials from a role",
    "database.leases": "list the live credentials of a role (never a password)",
    "database.revoke": "revoke issued database credentials",
    "database.install": "install a role's credentials into a cluster namespace",
    "protection.manage": "choose protected secrets, required approvals, break-glass",
    "change.list": "see change requests and their diffs (values masked)",
    "change.decide": "approve or reject another person's change request",
    "change.withdraw": "withdraw one's own change request",
    "access.request": "ask for a higher role for a while, with a reason",
    "access.decide": "approve, shorten, reject or revoke temporary access",
    "breakglass.reveal": "reveal values one's role would not read, with a justification",
    "breakglass.acknowledge": "acknowledge a break-glass reveal",
    "secret.share": "share a value once through a link that expires",
}


@dataclass(frozen=True)
class System:
    """The worker and the periodic command, acting for the product itself."""

    reason: str

    def __str__(self) -> str:
        return f"system ({self.reason})"


@dataclass(frozen=True)
class Agent:
    """An agent-mode cluster's agent, by its token, delivering into ``namespace``.

    It receives the values of the secrets its cluster's scope names (by name or tag), in
    the namespaces its scope's patterns match, and nothing else: no other action, no type
    whose values need more than the member role (``kubernetes``, ``pkecert``)."""

    organization_id: int
    cluster_name: str
    namespaces: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    namespace: str = ""

    def __str__(self) -> str:
        return f"cluster:{self.cluster_name}"

    def in_namespace(self, namespace: str) -> Agent:
        return replace(self, namespace=namespace)

    def receives(self, obj: Any) -> bool:
        """Whether ``obj`` (a secret: ``organization_id``, ``name``, ``tags``) is in scope,
        for the namespace this standing delivers into."""
        if getattr(obj, "organization_id", None) != self.organization_id:
            return False
        if not any(fnmatchcase(self.namespace, p) for p in self.namespaces):
            return False
        tags = set(getattr(obj, "tags", None) or [])
        return getattr(obj, "name", None) in self.secrets or bool(tags & set(self.tags))


# What an agent may do at all: receive values in its scope.
AGENT_ACTIONS = frozenset({"secret.values.read"})

Standing = Membership | System | Agent

# An object rule: the role an action on ``obj`` needs beyond the action's own, or None.
ObjectRule = Callable[[str, Any], str | None]

_OBJECT_RULES: list[tuple[str, ObjectRule]] = []


def register_object_rule(prefix: str, rule: ObjectRule) -> None:
    """Ask ``rule`` for actions starting with ``prefix``; it may only raise the role needed."""
    if (prefix, rule) not in _OBJECT_RULES:
        _OBJECT_RULES.append((prefix, rule))


def needed_role(action: str, obj: Any = None) -> str:
    """The weakest role allowed to perform ``action`` on ``obj``."""
    try:
        needed = ACTIONS[action]
    except KeyError:
        raise LookupError(f"No policy row for the action {action!r}.") from None
    if obj is None:
        return needed
    for prefix, rule in _OBJECT_RULES:
        if action.startswith(prefix):
            stronger = rule(action, obj)
            if stronger is not None and Role.rank(stronger) > Role.rank(needed):
                needed = stronger
    return needed


def allows(standing: Standing, action: str, obj: Any = None) -> bool:
    """Whether ``standing`` (a membership with its effective role, SYSTEM, or an agent)
    may act."""
    needed = needed_role(action, obj)
    if isinstance(standing, System):
        return True
    if isinstance(standing, Agent):
        return (
            action in AGENT_ACTIONS and Role.allows(Role.MEMBER, needed) and standing.receives(obj)
        )
    return Role.allows(standing.role, needed) or granted(standing, action, obj, needed)


# --------------------------------------------------------------------------- temporary grants
# A grant source says whether a live temporary grant lifts a membership to the role needed
# for an action on an object (``governance`` registers one; it reads the grant's expiry at
# use, so a grant ends by itself). Asked only when the membership's own role falls short,
# never for an agent or the product itself, and never above the role an API token caps the
# membership to (``Membership.token_cap``, set by ``orgs.scoping.cap_to_token``).
GrantSource = Callable[[Membership, str, Any, str], bool]

_GRANT_SOURCES: list[GrantSource] = []


def register_grant_source(source: GrantSource) -> None:
    """Ask ``source(membership, action, obj, needed_role)`` when a role falls short."""
    if source not in _GRANT_SOURCES:
        _GRANT_SOURCES.append(source)


def granted(membership: Membership, action: str, obj: Any, needed: str) -> bool:
    """Whether a temporary grant lifts ``membership`` to ``needed`` for ``action`` on ``obj``."""
    if membership.token_cap and not Role.allows(membership.token_cap, needed):
        return False
    return any(source(membership, action, obj, needed) for source in _GRANT_SOURCES)


@dataclass(frozen=True)
class RouteTarget:
    """The secret a route's path names, asked at the route's gate before the view fetches
    it: a grant on that secret (or a tag it carries) opens the gate, and the service then
    asks about the secret itself, with its object rules."""

    organization_id: int
    secret_id: str


def allows_route(membership: Membership, action: str, path: dict[str, Any]) -> bool:
    """A route's gate: ``action`` in general, or by a grant on the secret ``path`` names."""
    if allows(membership, action):
        return True
    secret_id = path.get("secret_id")
    if not isinstance(secret_id, str) or not secret_id:
        return False
    target = RouteTarget(membership.organization_id, secret_id)
    return granted(membership, action, target, needed_role(action))


def require(standing: Standing, action: str, obj: Any = None) -> None:
    """PermissionDenied, naming the role needed, unless ``standing`` may perform ``action``."""
    if allows(standing, action, obj):
        return
    if isinstance(standing, Agent):
        raise PermissionDenied(
            f"{obj} is outside the scope of cluster {standing.cluster_name} in the namespace "
            f"{standing.namespace}, or its type's values are never sent to an agent."
        )
    assert isinstance(standing, Membership)
    needed = needed_role(action, obj)
    what = ACTION_HELP.get(action, action)
    raise PermissionDenied(
        f"To {what} you need the {needed} role in {standing.organization.name}; "
        f"you are {standing.role}."
    )


# --------------------------------------------------------------------------- hold outcome
# A change the policy allows may still have to wait: a rule registered from above (the
# protection of secrets) answers a ``Hold`` for a change that becomes a change request
# instead of being applied. ``orgs`` names no such rule; the write path asks ``hold``.


@dataclass(frozen=True)
class Hold:
    """The policy's third outcome: allowed, but held for approval; ``reason`` says why."""

    reason: str


# A hold rule: (standing, action, obj) -> Hold when that change must wait, else None.
HoldRule = Callable[[Standing, str, Any], Hold | None]

_HOLD_RULES: list[HoldRule] = []


def register_hold_rule(rule: HoldRule) -> None:
    if rule not in _HOLD_RULES:
        _HOLD_RULES.append(rule)


def hold(standing: Standing, action: str, obj: Any) -> Hold | None:
    """Whether ``standing``'s allowed ``action`` on ``obj`` must wait for approval."""
    for rule in _HOLD_RULES:
        found = rule(standing, action, obj)
        if found is not None:
            return found
    return None


# Who a service is told acts: a standing, a user (standing: their membership of the org, at
# its stored role), or a name such as "system" (the product itself).
Actor = Membership | System | Agent | User | str


def standing_of(actor: Actor, organization: Organization) -> Standing:
    """The standing of ``actor`` in ``organization``. A membership keeps its effective
    (token-capped) role, which is why views pass ``self.membership``; a user stands by their
    stored membership (none: PermissionDenied); a name is the product itself."""
    if isinstance(actor, Membership | System | Agent):
        return actor
    if isinstance(actor, str):
        return System(actor)
    found = Membership.objects.filter(user=actor, organization=organization).first()
    if found is None:
        raise PermissionDenied(f"You are not a member of {organization.name}.")
    return found


def actor_name(actor: Actor) -> str:
    """The name the audit trail gives ``actor``."""
    if isinstance(actor, str):
        return actor
    if isinstance(actor, System):
        return "system"
    if isinstance(actor, Agent):
        return str(actor)
    if isinstance(actor, Membership):
        return actor.user.username
    return actor.username


def may_create_organizations(user: Any) -> bool:
    """Whether ``user`` may create organizations: the operator's ``ORG_CREATION`` says
    ``anyone`` (any signed-in account) or ``staff`` (operator staff only)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return getattr(settings, "ORG_CREATION", "anyone") == "anyone" or bool(user.is_staff)


def require_may_create_organizations(user: Any) -> None:
    if not may_create_organizations(user):
        raise PermissionDenied("Only the operator's staff may create organizations here.")


def table() -> list[tuple[str, str, str]]:
    """(action, weakest role, what it allows): the policy table, for the README and tests."""
    return [(action, role, ACTION_HELP.get(action, "")) for action, role in ACTIONS.items()]
