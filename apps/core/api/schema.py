"""The OpenAPI schema says what the API really answers, decided here once for every view.

Views annotate their own success bodies and the errors particular to them; the errors
that follow from the API's shared machinery (validation, authentication, CSRF,
permissions, lookups, row locks, optimistic locking, body limits, throttles) are added
here, each as the error envelope, so no operation can forget one.
"""

import re
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions, serializers

from apps.core.api.serializers import ErrorSerializer, StrictFieldsMixin

ERROR_RESPONSE = OpenApiResponse(ErrorSerializer, description="Error envelope")

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
BODY_METHODS = {"POST", "PUT", "PATCH"}
# A response declared as `OpenApiResponse(str, description="text/csv")` is served
# with that media type, not as JSON.
MEDIA_TYPE = re.compile(r"^[a-z]+/[a-z0-9.+-]+$")
# The API refuses the NUL character in any text, since PostgreSQL cannot store it
# (apps.core.api.parsers for bodies, form fields for query parameters): every free-text
# value of a request says so. Lone UTF-16 surrogates, refused too, are no Unicode text
# at all; a pattern cannot name them, as regex engines that read patterns as Unicode
# (Rust's, behind JSON Schema validators) refuse a surrogate range.
STORABLE_TEXT = r"^[^\u0000]*$"

ERROR_HEADERS: dict[str, dict[str, Any]] = {
    "401": {
        "WWW-Authenticate": {
            "description": "The scheme to authenticate with.",
            "schema": {"type": "string"},
        }
    },
    "429": {
        "Retry-After": {
            "description": "Seconds to wait before trying again.",
            "schema": {"type": "integer"},
        }
    },
}


class MakrXAutoSchema(AutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for status_code in self._error_status_codes(operation):
            if status_code not in responses:
                responses[status_code] = self._get_response_for_code(ERROR_RESPONSE, status_code)
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query":
                self._describe_query_text(parameter["schema"])
        for status_code, headers in ERROR_HEADERS.items():
            if status_code in responses:
                response = responses[status_code]
                response["headers"] = {**headers, **response.get("headers", {})}
        return operation

    def _describe_query_text(self, schema: dict[str, Any]) -> None:
        if schema.get("type") != "string" or {"pattern", "format", "enum"} & set(schema):
            return
        schema["pattern"] = STORABLE_TEXT
        if schema.get("minLength") == 1:
            # A blank filter is no filter: list filters skip empty values.
            del schema["minLength"]

    def _get_request_for_media_type(self, serializer: Any, direction: Any = "request") -> Any:
        schema, required = super()._get_request_for_media_type(serializer, direction)
        if getattr(serializer, "body_one_of", None) or getattr(serializer, "body_any_of", None):
            # A body bound by a rule between its fields is never optional as a whole.
            required = True
        return schema, required

    def _error_status_codes(self, operation: dict[str, Any]) -> list[str]:
        view = self.view
        method = self.method
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation or method in BODY_METHODS
        authenticates = bool(getattr(view, "authentication_classes", None))
        is_public = all(
            isinstance(permission, permissions.AllowAny) for permission in view.get_permissions()
        )

        codes = []
        if has_body or any(parameter["in"] == "query" for parameter in parameters):
            codes.append("400")
        if authenticates:
            # Any credentials sent may be refused, also on a public route.
            codes.append("401")
        if not is_public or (authenticates and method in UNSAFE_METHODS):
            # A permission check, or the CSRF check of a session's write.
            codes.append("403")
        if any(parameter["in"] == "path" for parameter in parameters):
            codes.append("404")
        if authenticates and method in UNSAFE_METHODS:
            # A row lock not had in time answers 409 LOCK_TIMEOUT.
            codes.append("409")
        if method in {"PUT", "PATCH"} and getattr(view, "optimistic_locking", False):
            codes.append("412")
        if has_body:
            codes.extend(["413", "415"])
        if view.get_throttles():
            codes.append("429")
        return codes

    def _get_response_for_code(
        self,
        serializer: Any,
        status_code: str,
        media_types: Any = None,
        direction: Any = "response",
    ) -> dict[str, Any]:
        if (
            media_types is None
            and isinstance(serializer, OpenApiResponse)
            and MEDIA_TYPE.match(str(serializer.description or ""))
        ):
            media_types = [serializer.description]
        return super()._get_response_for_code(serializer, status_code, media_types, direction)

    def _map_serializer(
        self, serializer: Any, direction: Any, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if (
            direction == "request"
            and isinstance(serializer, StrictFieldsMixin)
            and schema.get("type") == "object"
        ):
            # StrictFieldsMixin answers 400 to any field it does not take.
            schema["additionalProperties"] = False
        if schema.get("description") == get_doc(StrictFieldsMixin):
            # The mixin's docstring speaks of the code, not of this body.
            del schema["description"]
        if direction == "request" and schema.get("type") == "object":
            self._insert_body_rules(serializer, schema)
        return schema

    def _insert_body_rules(self, serializer: Any, schema: dict[str, Any]) -> None:
        if getattr(serializer, "partial", False) and getattr(
            serializer, "whole_body_on_patch", False
        ):
            # Its PATCH is not partial: what the serializer requires, the request needs.
            required = [
                name
                for name, field in serializer.fields.items()
                if field.required and not field.read_only
            ]
            if required:
                schema["required"] = required
        # Rules between fields of the serializer's validate(): "exactly one of" (oneOf),
        # "this or that" (anyOf).
        for keyword, attribute in (("oneOf", "body_one_of"), ("anyOf", "body_any_of")):
            alternatives = getattr(serializer, attribute, None)
            if alternatives:
                schema[keyword] = alternatives

    def _map_serializer_field(
        self, field: Any, direction: Any, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            isinstance(field, serializers.DecimalField)
            and schema.get("type") == "string"
            and field.max_whole_digits
        ):
            # A decimal string holds at least one digit, and no sign where the field
            # refuses negative values ("" and "-3" answer 400).
            sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
            # A field with a positive minimum (0.001) refuses every spelling of zero.
            is_positive = field.min_value is not None and field.min_value > 0
            nonzero = r"(?!0*(?:\.0*)?$)" if is_positive else ""
            schema["pattern"] = (
                rf"^{nonzero}{sign}\d{{1,{field.max_whole_digits}}}"
                rf"(?:\.\d{{1,{field.decimal_places}}})?$"
            )
        return schema

    def _map_basic_serializer(self, serializer: Any, direction: Any) -> dict[str, Any]:
        schema = super()._map_basic_serializer(serializer, direction)
        if direction != "request":
            return schema
        properties = schema.get("properties", {})
        for name, field in serializer.fields.items():
            prop = properties.get(name)
            if prop is None:
                continue
            if isinstance(field, serializers.ListField) and isinstance(prop.get("items"), dict):
                field, prop = field.child, prop["items"]
            if (
                isinstance(field, serializers.CharField)
                and prop.get("type") == "string"
                and not {"pattern", "format", "enum", "anyOf"} & set(prop)
            ):
                prop["pattern"] = STORABLE_TEXT
        return schema

    def _insert_field_validators(self, field: Any, schema: dict[str, Any]) -> None:
        super()._insert_field_validators(field, schema)
        if (
            isinstance(field, serializers.CharField)
            and field.allow_blank
            and schema.get("format") in {"email", "uri"}
        ):
            # A blank value ("no contact email") is no address: say that "" is allowed too.
            schema["anyOf"] = [{"format": schema.pop("format")}, {"maxLength": 0}]
