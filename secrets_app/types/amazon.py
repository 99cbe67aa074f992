"""amazon: an AWS access key, checked with STS GetCallerIdentity unless told not to.

GetCallerIdentity needs no IAM permission, so any working key passes and a rejected one
is a wrong or disabled key. boto3 is imported only when a check runs: it is slow to load.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

from secrets_app.types._remote import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    CredentialType,
    provider_error,
)
from secrets_app.types.base import Field

ACCESS_KEY_RE = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$")
SECRET_KEY_RE = re.compile(r"^[A-Za-z0-9/+=]{40}$")
REGION_RE = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$")
DEFAULT_REGION = "us-east-1"
# Which field a rejection points at, by STS error code.
REJECTED_FIELD = {
    "InvalidClientTokenId": "values.AWS_ACCESS_KEY_ID",
    "SignatureDoesNotMatch": "values.AWS_SECRET_ACCESS_KEY",
}


def check_shape(values: dict[str, str]) -> None:
    errors: dict[str, str] = {}
    if not ACCESS_KEY_RE.match(values["AWS_ACCESS_KEY_ID"]):
        errors["values.AWS_ACCESS_KEY_ID"] = "Must be AKIA or ASIA and 16 capitals or digits."
    if not SECRET_KEY_RE.match(values["AWS_SECRET_ACCESS_KEY"]):
        errors["values.AWS_SECRET_ACCESS_KEY"] = "Must be 40 characters of A-Z, a-z, 0-9, / and +."
    if values.get("AWS_REGION") and not REGION_RE.match(values["AWS_REGION"]):
        errors["values.AWS_REGION"] = "Must be a region name such as eu-west-1."
    if errors:
        raise ValidationError(errors)


def caller_identity(values: dict[str, str]) -> str:
    """The ARN the key belongs to; a ValidationError naming AWS when it is not accepted.

    The endpoint is boto3's own choice, so the standard AWS_ENDPOINT_URL (or
    AWS_ENDPOINT_URL_STS) setting points the check at another STS.
    """
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    secret = values["AWS_SECRET_ACCESS_KEY"]
    config = Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"total_max_attempts": 1},
    )
    try:
        session = boto3.session.Session(
            aws_access_key_id=values["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=secret,
            region_name=values.get("AWS_REGION") or DEFAULT_REGION,
        )
        answer = session.client("sts", config=config).get_caller_identity()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "error")
        raise provider_error(
            "AWS",
            f"rejected the credentials ({code})",
            error.get("Message") or exc,
            hide=[secret],
            field=REJECTED_FIELD.get(code, "values"),
        ) from None
    except BotoCoreError as exc:
        raise provider_error("AWS", "could not be reached", exc, hide=[secret]) from None
    return str(answer.get("Arn", ""))


class AmazonType(CredentialType):
    name = "amazon"
    description = "AWS access key credentials; verified with STS GetCallerIdentity."
    sourcing = "env"
    fields = (
        Field(
            "AWS_ACCESS_KEY_ID",
            required=True,
            safe_to_display=True,
            description="The access key id (AKIA... or ASIA...).",
        ),
        Field("AWS_SECRET_ACCESS_KEY", required=True, description="The secret access key."),
        Field(
            "AWS_REGION",
            safe_to_display=True,
            description=f"Default region, such as eu-west-1 (checked against {DEFAULT_REGION} "
            "when empty).",
        ),
    )

    def check_shape(self, values: dict[str, str]) -> None:
        check_shape(values)

    def verify_remotely(self, values: dict[str, str]) -> None:
        caller_identity(values)


TYPE = AmazonType()
