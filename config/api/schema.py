"""The OpenAPI schema's generator: drf-spectacular's, with the API's one error shape documented.

Every operation answers its errors as ``{"error": {"code", "message", "fields"}}``
(``config.api.exceptions``): a 400 naming the fields, a 401 for an expired token (on any path), a
404, a 409 ``out_of_stock``... Which of them a given operation can give depends on its service, so
the schema documents them once per operation as OpenAPI's ``default`` answer (every status not
listed), not as a guessed list. Without it, clients generated from the schema had no type for an
error, and a fuzzer (Schemathesis) flagged each 4xx as undocumented.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers


class ErrorDetailOut(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, for programs: `invalid`, `not_found`, `out_of_stock`...")
    message = serializers.CharField(help_text="For people; may change.")
    fields = serializers.DictField(
        help_text="Per input field (or `non_field_errors`), what is wrong with it: a list of messages, "
        "or for a list or nested input the same by index or key. Empty when no field is at fault."
    )


class ErrorOut(serializers.Serializer):
    """An error answer (any 4xx or 5xx)."""

    error = ErrorDetailOut()


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction="response"):
        bodies = super()._get_response_bodies(direction)
        if direction == "response":
            error = self._get_response_for_code(ErrorOut, "default", direction=direction)
            bodies.setdefault("default", {**error, "description": "An error, in the API's one error shape."})
        return bodies
