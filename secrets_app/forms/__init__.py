"""Dashboard forms for secrets, built from the type registry: a new type needs no form code.

The forms only collect and shape input; the services validate it. Errors raised by the
services (keys ``name``, ``type``, ``tags``, ``values.<field>``) are put back on the form
field they name with ``add_service_errors``. Secret inputs never render a value back: a
secret value reaches a page only when a member reveals it.

The package is cut along its seams: ``inputs`` (shared input pieces), ``envfile`` (``.env``
blocks), ``value_fields`` (type-driven value inputs and key/value rows), ``controls``
(password generation, key-file import, ``.env`` paste), ``secret_forms`` (create,
delete, tag), ``edit_form`` (edit) and ``filters`` (the list's query string). The names
other modules use are re-exported here.
"""

from __future__ import annotations

from secrets_app.forms.controls import ValueControlsMixin
from secrets_app.forms.edit_form import EditRow, SecretEditForm
from secrets_app.forms.envfile import env_text, parse_env
from secrets_app.forms.filters import LIST_PAGE_SIZES, LIST_SORTS, SecretFilters
from secrets_app.forms.inputs import (
    INPUT_ATTRS,
    SecretTextarea,
    split_tags,
    type_choices,
    type_label,
)
from secrets_app.forms.secret_forms import (
    DeleteConfirmForm,
    SecretCreateForm,
    TagForm,
)
from secrets_app.forms.value_fields import ServiceErrorsMixin, ValueField

__all__ = [
    "INPUT_ATTRS",
    "LIST_PAGE_SIZES",
    "LIST_SORTS",
    "DeleteConfirmForm",
    "EditRow",
    "SecretCreateForm",
    "SecretEditForm",
    "SecretFilters",
    "SecretTextarea",
    "ServiceErrorsMixin",
    "TagForm",
    "ValueControlsMixin",
    "ValueField",
    "env_text",
    "parse_env",
    "split_tags",
    "type_choices",
    "type_label",
]
