"""Form fields shared by the pages and the staff admin."""

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from apps.core.api.parsers import MAX_JSON_DEPTH, JSONTooDeep, json_problems


class StorableJSONField(forms.JSONField):
    """A JSON text field that refuses what the database could not store, as a form error.

    Django's own field lets a document nested thousands deep reach the interpreter's
    recursion limit, and NUL characters or lone surrogates reach PostgreSQL; both
    would be a server error instead of a message next to the field.
    """

    def to_python(self, value: Any) -> Any:
        try:
            converted = super().to_python(value)
        except RecursionError:
            raise ValidationError(
                f"JSON may not be nested more than {MAX_JSON_DEPTH} levels deep.",
                code="invalid",
            ) from None
        try:
            problems = json_problems(converted)
        except JSONTooDeep as exc:
            raise ValidationError(str(exc), code="invalid") from None
        if problems:
            raise ValidationError(
                [
                    f"{path}: {message}"
                    for path, messages in problems.items()
                    for message in messages
                ],
                code="invalid",
            )
        return converted

    def bound_data(self, data: Any, initial: Any) -> Any:
        # Re-showing the form after an error parses the text again; text that cannot be
        # parsed is shown back as it was typed.
        try:
            return super().bound_data(data, initial)
        except RecursionError:
            return forms.fields.InvalidJSONInput(data)

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return super().has_changed(initial, data)
        except (RecursionError, json.JSONDecodeError):
            return True
