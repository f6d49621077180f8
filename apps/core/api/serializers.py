import re
from collections.abc import Iterable
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


def _is_text_field(field: serializers.Field) -> bool:
    return isinstance(field, serializers.CharField) and not field.read_only


def _text_type_errors(fields: Any, data: dict[str, Any]) -> dict[str, list[str]]:
    """Fields of text given another JSON type: DRF's CharField would store ``12`` as "12"."""
    errors: dict[str, list[str]] = {}
    for name, value in data.items():
        field = fields.get(name)
        if field is None or value is None:
            continue
        if _is_text_field(field) and not isinstance(value, str):
            errors[name] = ["Not a valid string."]
        elif _is_text_field(field) and field.max_length and len(value) > field.max_length:
            # Counted as sent, before surrounding whitespace is trimmed, as the schema counts.
            errors[name] = [f"Ensure this field has no more than {field.max_length} characters."]
        elif (
            isinstance(field, serializers.ListField)
            and _is_text_field(field.child)
            and isinstance(value, list)
            and any(not isinstance(entry, str) for entry in value)
        ):
            errors[name] = ["Every entry must be a string."]
    return errors


class StrictFieldsMixin:
    """Reject fields the serializer does not know or may not change, instead of ignoring them.

    A client sending ``{"email_verified": true}`` to PATCH /me must hear that it
    cannot, not get a 200 that silently changed nothing. Text fields take JSON strings
    only, as the schema says: a number sent as a name or description is refused rather
    than stored as its digits.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            writable = {
                name
                for name, field in self.fields.items()  # type: ignore[attr-defined]
                if not field.read_only
            }
            known = set(self.fields)  # type: ignore[attr-defined]
            errors = {}
            for name in sorted(set(data) - writable):
                errors[name] = ["This field is read-only."] if name in known else ["Unknown field."]
            errors.update(_text_type_errors(self.fields, data))  # type: ignore[attr-defined]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)  # type: ignore[misc]


def choice_list_pattern(choices: Iterable[str], *, empty_parts: bool = False) -> str:
    """A pattern for one of ``choices`` or several, comma-separated (``a,b``), or nothing.

    With ``empty_parts`` a list may also hold empty entries (``a,,b``), which its
    reader skips.
    """
    one = "|".join(re.escape(choice) for choice in choices)
    if empty_parts:
        return rf"^(?:{one})?(?:,(?:{one})?)*$"
    return rf"^(?:(?:{one})(?:,(?:{one}))*)?$"


@extend_schema_field({"type": "object", "additionalProperties": {}})
class JSONObjectField(serializers.JSONField):
    """Free-form JSON that must be an object (``{...}``), as the schema says."""

    default_error_messages = {"not_an_object": "Must be an object."}

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            self.fail("not_an_object")
        return value


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class ErrorSerializer(serializers.Serializer):
    """The error envelope, for the schema."""

    error = ErrorDetailSerializer()
