"""pagerduty: a PagerDuty Events API integration key, for alert routing.

The key (the ``routing_key`` of Events API v2) is 32 letters and digits; PagerDuty is not
asked whether it exists.
"""

from __future__ import annotations

import re

from secrets_app.types.base import Field
from secrets_app.types.shapes import ShapedType

KEY = "integrationKey"
KEY_RE = re.compile(r"^[A-Za-z0-9]{32}$")


class PagerDutyType(ShapedType):
    name = "pagerduty"
    description = "A PagerDuty Events API integration key for alerts."
    sourcing = "env"
    fields = (
        Field(
            KEY,
            required=True,
            opaque=True,
            description="The integration key of a PagerDuty service (Events API v2).",
        ),
    )
    shapes = {KEY: (KEY_RE, "Must be a PagerDuty integration key: 32 letters or digits.")}


TYPE = PagerDutyType()
