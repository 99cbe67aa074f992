"""amazon: an AWS access key, checked with STS GetCallerIdentity unless told not to.

GetCallerIdentity needs no IAM permission, so any working key passes and a rejected one
is a wrong or disabled key. The endpoint is boto3's choice from the server's environment
(AWS_ENDPOINT_URL) and the region, which must be one boto3 knows, so a tenant's values
never name a host. boto3 is imported only when a check runs: it is slow to load.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError

from pipeline_secrets.core.outbound import OutboundRefusedError, check_url
from secrets_app.types.base import Field
from secrets_app.types.remote import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    CredentialType,
    answer_error,
    provider_error,
    refused_error,
)

ACCESS_KEY_RE = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$")
SECRET_KEY_RE = re.compile(r"^[A-Za-z0-9/+=]{40}$")
REGION_RE = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$")
DEFAULT_REGION = "us-east-1"
# Which field a rejection points at, by STS error code.
REJECTED_FIELD = {
    "InvalidClientTokenId": "values.AWS_ACCESS_KEY_ID",
    "SignatureDoesNotMatch": "values.AWS_SECRET_ACCESS_KEY",
}
# STS error codes that may be quoted back; any other is reported by its HTTP status only.
KNOWN_CODES = frozenset(
    {
        "AccessDenied",
        "ExpiredToken",
        "IncompleteSignature",
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "MissingAuthenticationToken",
        "RegionDisabledException",
        "RequestExpired",
        "SignatureDoesNotMatch",
        "Throttling",
        "UnrecognizedClientException",
    }
)


def check_shape(values: dict[str, str]) -> None:
    errors: dict[str, str] = {}
    if not ACCESS_KEY_RE.fullmatch(values["AWS_ACCESS_KEY_ID"]):
        errors["values.AWS_ACCESS_KEY_ID"] = "Must be AKIA or ASIA and 16 capitals or digits."
    if not SECRET_KEY_RE.fullmatch(values["AWS_SECRET_ACCESS_KEY"]):
        errors["values.AWS_SECRET_ACCESS_KEY"] = "Must be 40 characters of A-Z, a-z, 0-9, / and +."
    if values.get("AWS_REGION") and not REGION_RE.fullmatch(values["AWS_REGION"]):
        errors["values.AWS_REGION"] = "Must be a region name such as eu-west-1."
    if errors:
        raise ValidationError(errors)


def known_region(session: Any, region: str) -> bool:
    return any(
        region in session.get_available_regions("sts", partition_name=partition)
        for partition in session.get_available_partitions()
    )


def sts_session(values: dict[str, str]) -> Any:
    """A boto3 session holding the key, in its region (or the default), which must be one of
    AWS's own: the region is part of STS's host name."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=values["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=values["AWS_SECRET_ACCESS_KEY"],
        region_name=values.get("AWS_REGION") or DEFAULT_REGION,
    )
    if not known_region(session, session.region_name):
        raise ValidationError({"values.AWS_REGION": "Not a region this server can check with."})
    return session


def rejection(answer: dict[str, Any], status: int | None) -> ValidationError:
    """The error for an STS error answer: its code when it is a known one (on the field it
    points at), else its HTTP status only."""
    code = str(answer.get("Error", {}).get("Code") or "")
    if code in KNOWN_CODES:
        return provider_error(
            "AWS",
            f"rejected the credentials ({code})",
            field=REJECTED_FIELD.get(code, "values"),
        )
    return answer_error("AWS", status, rejected="rejected the credentials")


def caller_identity(values: dict[str, str]) -> str:
    """The ARN the key belongs to; a ValidationError naming AWS when it is not accepted.

    The endpoint is boto3's own choice, so the standard AWS_ENDPOINT_URL (or
    AWS_ENDPOINT_URL_STS) setting points the check at another STS. botocore never follows
    redirects for STS; the URL it is about to call is checked against the denied networks.
    """
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    config = Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"total_max_attempts": 1},
    )
    session = sts_session(values)
    statuses: list[int] = []

    def before_send(request: Any, **_: Any) -> None:
        check_url(request.url)

    def before_parse(response_dict: dict[str, Any], **_: Any) -> None:
        statuses.append(int(response_dict["status_code"]))

    try:
        client = session.client("sts", config=config)
        client.meta.events.register("before-send.sts.GetCallerIdentity", before_send)
        client.meta.events.register("before-parse.sts.GetCallerIdentity", before_parse)
        answer = client.get_caller_identity()
    except OutboundRefusedError:
        raise refused_error() from None
    except ClientError as exc:
        raise rejection(exc.response, statuses[-1] if statuses else None) from None
    except BotoCoreError:
        raise provider_error("AWS", "could not be reached") from None
    except ResponseParserError:
        status = statuses[-1] if statuses else None
        raise answer_error("AWS", status, rejected="rejected the credentials") from None
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
