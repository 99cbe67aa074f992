"""Request parsing and response shapes of the secrets API (camelCase, as the original).

Every answer is the ``.data`` of the serializer its operation documents: the OpenAPI
document and the output are one definition. The one exception is the per-request path of a
single secret (``secret_item_data``, ``secret_created_data``): they build the same answer as
``SecretItemSerializer``/``SecretCreatedSerializer`` without a serializer instance (whose
field copies cost more than the rest of the answer), and tests hold them equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from orgs.api.serializers import UtcDateTimeField, given
from pipeline_secrets.core.converters import ID_MAX
from secrets_app import schedule
from secrets_app import values as secret_values
from secrets_app.models import SecretIndex, SecretLifecycle
from secrets_app.selectors import lifecycle_of
from secrets_app.types import get_type


class StrictStringField(serializers.CharField):
    """A string that must arrive as a JSON string: numbers and booleans are not coerced."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


def _values_field(**kwargs: Any) -> serializers.DictField:
    return serializers.DictField(
        child=StrictStringField(allow_blank=True, trim_whitespace=False),
        required=False,
        default=dict,
        **kwargs,
    )


def _tags_field() -> serializers.ListField:
    return serializers.ListField(
        child=StrictStringField(trim_whitespace=False), required=False, default=list
    )


_FIELD_NAME = "SecretField"
# The original's members (name, required, isSafeToDisplay, description, opaque) and ours.
_FIELD_FIELDS: dict[str, serializers.Field] = {
    "name": serializers.CharField(),
    "required": serializers.BooleanField(
        source="client_required",
        help_text="A client must send it; a generatable field is made when left out.",
    ),
    "isSafeToDisplay": serializers.BooleanField(
        source="safe_to_display", help_text="Not secret; shown unmasked."
    ),
    "description": serializers.CharField(),
    "opaque": serializers.BooleanField(help_text="Internal; not installed into clusters."),
    "generatable": serializers.BooleanField(help_text="Generated when left out."),
}


# Built with inline_serializer because its keys ("fields", "required") clash with Serializer
# attributes; the class is made once so the schema has one SecretType component. It reads a
# ``secrets_app.types.SecretType``. ``fields`` is the original's SecretTypeResponse; the other
# members are ours.
SecretTypeSerializer: type[serializers.Serializer] = type(
    inline_serializer(
        name="SecretType",
        fields={
            "fields": inline_serializer(name=_FIELD_NAME, fields=_FIELD_FIELDS, many=True),
            "name": serializers.CharField(),
            "description": serializers.CharField(),
            "sourcing": serializers.ChoiceField(
                choices=["env", "volume"],
                help_text="How workloads consume it: environment variables or mounted files.",
            ),
            "schema": serializers.BooleanField(
                source="strict", help_text="False when any keys are accepted."
            ),
            "kubernetesType": serializers.CharField(
                source="kubernetes_type",
                allow_null=True,
                help_text="The type of the Kubernetes Secret it installs as; null for Opaque.",
            ),
            "valuesRole": serializers.ChoiceField(
                source="values_role",
                choices=["member", "admin"],
                help_text="The weakest organization role that reads or writes its values.",
            ),
            "rotatable": serializers.BooleanField(
                help_text="Whether the product can make fresh values of it (rotate now or on a "
                "schedule); false for values that come from elsewhere.",
            ),
        },
    )
)
# GET /secret-types: the types keyed by name, as the original answers.
SECRET_TYPE_MAP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {"$ref": "#/components/schemas/SecretType"},
}


class RotationWriteSerializer(serializers.Serializer):
    every = serializers.CharField(
        allow_null=True,
        help_text="How often: days and/or a Go-style duration (30d, 7d, 12h, 1d12h), 1h to "
        "3650d; null removes the schedule.",
    )


def _rotation_field() -> RotationWriteSerializer:
    return RotationWriteSerializer(
        required=False,
        allow_null=True,
        help_text="A rotation schedule (types with rotatable true); left out: unchanged; null: "
        "none. The first rotation is due one period after it is set.",
    )


class SecretWriteSerializer(serializers.Serializer):
    # Not trimmed: a name or type with surrounding whitespace is refused, not altered.
    name = serializers.CharField(
        max_length=253,
        trim_whitespace=False,
        help_text="DNS-1123 subdomain; unique in the organization.",
    )
    type = serializers.CharField(
        trim_whitespace=False, help_text="One of the types of GET /secret-types."
    )
    values = _values_field(help_text="Field values; generatable fields left empty are generated.")
    tags = _tags_field()
    rotation = _rotation_field()


class SecretUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, help_text="Immutable; must match if given.")
    type = serializers.CharField(required=False, help_text="Immutable; must match if given.")
    values = _values_field()
    tags = _tags_field()
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=ID_MAX,
        help_text="The version this update was based on; a different current version is a 409.",
    )
    rotation = _rotation_field()


class RollbackSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, max_value=ID_MAX, help_text="The earlier version to write again."
    )
    expectedVersion = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=ID_MAX,
        help_text="The current version this was decided on; a different one is a 409.",
    )


class VaultTimeField(UtcDateTimeField):
    """A time that may come from Vault as an RFC 3339 string (nanoseconds), answered in the
    API's form (UTC, microseconds, ``Z``)."""

    def to_representation(self, value: Any) -> Any:
        if isinstance(value, str):
            value = secret_values.parse_time(value)
        return super().to_representation(value)


HIDDEN = "<hidden>"


class ValuesField(serializers.DictField):
    """A secret's values, given in the context as ``values`` (secretId -> values); for a
    secret whose values are not given, its value names with ``"<hidden>"`` values, as the
    original product's lists have them."""

    def get_attribute(self, instance: Any) -> Any:
        values = self.context.get("values", {}).get(instance.secret_id)
        if values is None:
            return dict.fromkeys(instance.keys, HIDDEN)
        return values


class GivenDictField(serializers.DictField):
    def get_attribute(self, instance: Any) -> Any:
        return given(self)


class GivenListField(serializers.ListField):
    def get_attribute(self, instance: Any) -> Any:
        return given(self)


class GivenBooleanField(serializers.BooleanField):
    def get_attribute(self, instance: Any) -> Any:
        return given(self)


# Reads a ``SecretIndex`` row (or an ``EarlierVersion``); a plain serializer of simple fields, so
# a listing of many secrets stays fast.
class SecretSerializer(serializers.Serializer):
    id = serializers.CharField(source="secret_id", help_text="Hex SHA-256 of the name.")
    name = serializers.CharField()
    type = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    version = serializers.IntegerField()
    updatedAt = UtcDateTimeField(source="updated_at")
    updatedBy = serializers.CharField(source="updated_by")
    expiresAt = UtcDateTimeField(
        source="expires_at",
        allow_null=True,
        help_text="Earliest expiry of the certificates it holds, if any.",
    )
    values = ValuesField(
        child=serializers.CharField(),
        help_text=(
            'The values when asked for (and the role allows); otherwise each value name with "'
            + HIDDEN
            + '".'
        ),
    )


# Reads a ``SecretLifecycle`` row that has a schedule.
class RotationSerializer(serializers.Serializer):
    every = serializers.SerializerMethodField(help_text="The period, as 30d, 12h or 1d12h.")
    nextRotationAt = UtcDateTimeField(source="next_rotation_at", allow_null=True)
    lastRotatedAt = UtcDateTimeField(source="last_rotated_at", allow_null=True)
    lastRotatedBy = serializers.CharField(
        source="last_rotated_by", help_text="Who rotated it last: a user, or system (schedule)."
    )
    lastError = serializers.CharField(
        source="last_error", help_text="Why the last rotation or renewal failed, if it did."
    )

    def get_every(self, item: SecretLifecycle) -> str:
        return schedule.format_every(item.rotate_every) if item.rotate_every else ""


# A secret as the secrets API answers it: the shared shape plus its rotation schedule.
class SecretItemSerializer(SecretSerializer):
    rotation = serializers.SerializerMethodField(
        help_text="Its rotation schedule, or null when it has none."
    )

    @extend_schema_field(RotationSerializer(allow_null=True))
    def get_rotation(self, instance: Any) -> dict[str, Any] | None:
        item = lifecycle_of(instance)
        if item is None or item.rotate_every is None:
            return None
        return dict(RotationSerializer(item).data)


_TIME = UtcDateTimeField(allow_null=True)


def _time(value: datetime | None) -> str | None:
    return None if value is None else _TIME.to_representation(value)


def _strings(mapping: dict[str, Any]) -> dict[str, str | None]:
    return {str(k): None if v is None else str(v) for k, v in mapping.items()}


def secret_item_data(row: SecretIndex, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """``SecretItemSerializer(row, context={"values": {row.secret_id: values}}).data`` (with
    ``values`` None: the value names with ``"<hidden>"``), built directly."""
    item = lifecycle_of(row)
    rotation = None
    if item is not None and item.rotate_every is not None:
        rotation = {
            "every": schedule.format_every(item.rotate_every) if item.rotate_every else "",
            "nextRotationAt": _time(item.next_rotation_at),
            "lastRotatedAt": _time(item.last_rotated_at),
            "lastRotatedBy": str(item.last_rotated_by),
            "lastError": str(item.last_error),
        }
    return {
        "id": str(row.secret_id),
        "name": str(row.name),
        "type": str(row.type),
        "tags": [None if tag is None else str(tag) for tag in row.tags],
        "version": int(row.version),
        "updatedAt": _time(row.updated_at),
        "updatedBy": str(row.updated_by),
        "expiresAt": _time(row.expires_at),
        "values": _strings(dict.fromkeys(row.keys, HIDDEN) if values is None else values),
        "rotation": rotation,
    }


def secret_created_data(row: SecretIndex, generated: dict[str, Any]) -> dict[str, Any]:
    """``SecretCreatedSerializer(row, context={"generated": generated}).data``, built
    directly."""
    return {**secret_item_data(row), "generated": _strings(generated)}


# A written secret; ``generated`` (and after an update ``installations``) are given in the
# context.
class SecretCreatedSerializer(SecretItemSerializer):
    generated = GivenDictField(
        child=serializers.CharField(),
        help_text="Values generated by this request, shown this once.",
    )
    installations = GivenListField(
        child=serializers.DictField(),
        required=False,
        help_text="After an update: each installed copy refreshed, with status and error.",
    )


# Reads a ``SecretIndex`` row; ``valid`` and ``remoteChecked`` are given in the context.
class SecretValidationSerializer(serializers.Serializer):
    id = serializers.CharField(source="secret_id")
    valid = GivenBooleanField()
    remoteChecked = GivenBooleanField(help_text="Whether the provider was asked too.")


class CurrentVersionField(serializers.BooleanField):
    """Whether a version is the one given in the context as ``current``."""

    def get_attribute(self, instance: Any) -> Any:
        return instance.version == self.context["current"]


# Reads a ``vault.VersionInfo``; the current version is given in the context.
class SecretVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    createdAt = VaultTimeField(source="created_time")
    deleted = serializers.BooleanField()
    current = CurrentVersionField()


@dataclass
class EarlierVersion:
    """An earlier version of a secret, from its Vault document, read like an index row."""

    secret_id: str
    name: str
    type: str
    tags: list[str]
    version: int
    updated_at: datetime
    updated_by: str
    expires_at: datetime | None
    values: dict[str, str]

    @property
    def keys(self) -> list[str]:
        return sorted(self.values)

    @classmethod
    def of(cls, row: SecretIndex, document: secret_values.Document) -> EarlierVersion:
        data = document.data
        values = dict(data.get("values") or {})
        return cls(
            secret_id=row.secret_id,
            name=row.name,
            type=row.type,
            tags=list(data.get("tags") or []),
            version=document.version,
            updated_at=secret_values.parse_time(document.created_time),
            updated_by=data.get("updatedBy") or "",
            expires_at=get_type(row.type).expiry(values),
            values=values,
        )
