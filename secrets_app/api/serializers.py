"""Request parsing and response shapes of the secrets API (camelCase, as the original).

Every answer is the ``.data`` of the serializer its operation documents: the OpenAPI
document and the output are one definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from orgs.api.serializers import UtcDateTimeField, given
from pipeline_secrets.core.converters import ID_MAX
from secrets_app import vault
from secrets_app.models import SecretIndex
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
        },
    )
)
# GET /secret-types: the types keyed by name, as the original answers.
SECRET_TYPE_MAP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {"$ref": "#/components/schemas/SecretType"},
}


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


class VaultTimeField(UtcDateTimeField):
    """A time that may come from Vault as an RFC 3339 string (nanoseconds), answered in the
    API's form (UTC, microseconds, ``Z``)."""

    def to_representation(self, value: Any) -> Any:
        if isinstance(value, str):
            value = vault.parse_time(value)
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


# A written secret; ``generated`` (and after an update ``installations``) are given in the
# context.
class SecretCreatedSerializer(SecretSerializer):
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
    def of(cls, row: SecretIndex, document: vault.VaultDocument) -> EarlierVersion:
        data = document.data
        values = dict(data.get("values") or {})
        return cls(
            secret_id=row.secret_id,
            name=row.name,
            type=row.type,
            tags=list(data.get("tags") or []),
            version=document.version,
            updated_at=vault.parse_time(document.created_time),
            updated_by=data.get("updatedBy") or "",
            expires_at=get_type(row.type).expiry(values),
            values=values,
        )
