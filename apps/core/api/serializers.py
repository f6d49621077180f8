from typing import Any

from rest_framework import serializers


class StrictFieldsMixin:
    """Reject fields the serializer does not know or may not change, instead of ignoring them.

    A client sending ``{"email_verified": true}`` to PATCH /me must hear that it
    cannot, not get a 200 that silently changed nothing.
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
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)  # type: ignore[misc]


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class ErrorSerializer(serializers.Serializer):
    """The error envelope, for the schema."""

    error = ErrorDetailSerializer()
