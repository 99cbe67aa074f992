"""The bodies a webhook target receives, by its ``format``.

- ``generic``: the product's JSON (``id``, ``event``, ``subject``, ``organization``,
  ``detail``, ``createdAt``), signed (``notifications.sending``);
- ``slack``: a Slack-compatible incoming-webhook message, ``{"text": ..., "blocks": [...]}``
  (Slack, Mattermost, Rocket.Chat and Teams' Slack-compatible endpoints read it), sent with
  the same signature headers.

Both carry what the delivery holds (ids, names, versions, dates), never a value.
"""

from __future__ import annotations

import json
from typing import Any

from notifications.models import NotificationDelivery, NotificationTarget

# Slack's limits: 3,000 characters in a section's text, 10 elements in a context block.
SECTION_MAX = 3000


def generic(item: NotificationDelivery) -> dict[str, Any]:
    """The JSON body of a generic webhook (and the facts of an e-mail)."""
    return {
        "id": item.pk,
        "event": item.event,
        "subject": item.subject,
        "organization": {"id": item.organization_id, "name": item.organization.name},
        "detail": item.detail,
        "createdAt": item.created_at.isoformat(),
    }


def escape(text: str) -> str:
    """Text safe inside Slack mrkdwn: its control characters (&, <, >) escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shown(value: Any) -> str:
    """A detail's value as people read it (a list as its items, comma-separated)."""
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _detail_line(detail: dict[str, Any]) -> str:
    parts = [f"*{escape(key)}*: {escape(shown(value))}" for key, value in sorted(detail.items())]
    return "\n".join(parts)[:SECTION_MAX]


def slack(item: NotificationDelivery) -> dict[str, Any]:
    """A Slack-compatible message: ``text`` (the fallback shown in alerts) plus blocks."""
    organization = item.organization.name
    text = f"[{organization}] {item.subject}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{escape(text)}*"}}
    ]
    if item.detail:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": _detail_line(item.detail)}}
        )
    context = f"`{escape(item.event)}` · {escape(organization)} · Pipeline Secrets"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return {"text": text, "blocks": blocks}


def body(item: NotificationDelivery) -> bytes:
    """The bytes POSTed to ``item``'s webhook target."""
    if item.target.format == NotificationTarget.Format.SLACK:
        document = slack(item)
    else:
        document = generic(item)
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
