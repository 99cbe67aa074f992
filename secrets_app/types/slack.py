"""slack: a Slack incoming-webhook URL, for alerts.

Only its shape is checked (``https://hooks.slack.com/services/<team>/<hook>/<token>``, or
Slack GovSlack's host): posting to it would announce a test message to a channel.
"""

from __future__ import annotations

import re

from secrets_app.types.base import Field
from secrets_app.types.shapes import ShapedType

URL = "apiUrl"
WEBHOOK_RE = re.compile(
    r"^https://hooks\.slack(?:-gov)?\.com/services/[A-Z0-9]{2,32}/[A-Z0-9]{2,32}/[A-Za-z0-9]{8,64}$"
)


class SlackType(ShapedType):
    name = "slack"
    description = "A Slack incoming-webhook URL for alerts."
    sourcing = "env"
    fields = (
        Field(
            URL,
            required=True,
            opaque=True,
            safe_to_display=True,
            description="The incoming-webhook URL: https://hooks.slack.com/services/T.../B.../...",
        ),
    )
    shapes = {
        URL: (
            WEBHOOK_RE,
            "Must be a Slack incoming-webhook URL, "
            "https://hooks.slack.com/services/<team>/<hook>/<token>.",
        )
    }


TYPE = SlackType()
