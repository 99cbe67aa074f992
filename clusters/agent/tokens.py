"""The agent token of an agent-mode cluster: ``psa_`` + 43 url-safe characters.

Only its SHA-256 is kept (``Cluster.agent_token_hash``), with its first characters for
recognising it. The raw token is returned once, by the call that issues it; rotating
replaces it at once (the old one stops working), revoking leaves the cluster without one.
Both are audited, never with the token.
"""

from __future__ import annotations

import hmac
import secrets

from django.db import transaction
from django.utils import timezone

from clusters.models import Cluster
from clusters.namespaces import audit_cluster
from orgs import policy
from orgs.services import hash_token
from pipeline_secrets.core.errors import ConflictError

TOKEN_PREFIX = "psa_"
# How much of the token is kept in clear, to tell tokens apart on the cluster's page.
SHOWN_CHARACTERS = 8


def issue(cluster: Cluster) -> str:
    """Give ``cluster`` a new token (not saved) and return it: the only time it is seen."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    cluster.agent_token_hash = hash_token(raw)
    cluster.agent_token_prefix = raw[:SHOWN_CHARACTERS]
    cluster.agent_token_created_at = timezone.now()
    return raw


TOKEN_FIELDS = ["agent_token_hash", "agent_token_prefix", "agent_token_created_at"]


def _require_agent_admin(actor: policy.Actor, cluster: Cluster) -> None:
    policy.require(policy.standing_of(actor, cluster.organization), "cluster.manage", cluster)
    if cluster.mode != Cluster.Mode.AGENT:
        raise ConflictError(
            f"Cluster {cluster.name} is reached with a kubeconfig: it has no agent token."
        )


def rotate_token(*, actor: policy.Actor, cluster: Cluster) -> str:
    """A new token for the cluster's agent (admins); the old one stops working at once."""
    _require_agent_admin(actor, cluster)
    with transaction.atomic():
        raw = issue(cluster)
        cluster.save(update_fields=TOKEN_FIELDS)
        audit_cluster(actor, "cluster.agent_token.rotate", cluster)
    return raw


def revoke_token(*, actor: policy.Actor, cluster: Cluster) -> None:
    """Leave the cluster without a token (admins): its agent is refused until a rotation."""
    _require_agent_admin(actor, cluster)
    with transaction.atomic():
        cluster.agent_token_hash, cluster.agent_token_prefix = "", ""
        cluster.agent_token_created_at = None
        cluster.save(update_fields=TOKEN_FIELDS)
        audit_cluster(actor, "cluster.agent_token.revoke", cluster)


def cluster_for_token(raw: str) -> Cluster | None:
    """The agent cluster whose token is ``raw`` (with its organization), or None. The
    lookup is by the token's hash, so no comparison leaks how much of a guess was right."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    digest = hash_token(raw)
    cluster = (
        Cluster.objects.select_related("organization")
        .filter(agent_token_hash=digest, mode=Cluster.Mode.AGENT)
        .first()
    )
    if cluster is None or not hmac.compare_digest(cluster.agent_token_hash, digest):
        return None
    return cluster
