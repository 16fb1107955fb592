"""One error shape for the whole API: ``{"error": {"code", "message", "fields"}}``."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.errors import DomainError

# DRF's default codes are kept where they are clear; these read better for clients.
_CODE_BY_CLASS = {
    exceptions.ValidationError: "invalid",
    exceptions.ParseError: "parse_error",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail) -> object:
    """Turn DRF's ErrorDetail trees into plain lists/dicts of strings."""
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def _validation_payload(detail) -> tuple[str, dict]:
    if isinstance(detail, dict):
        fields = _flatten(detail)
        non_field = fields.pop("non_field_errors", None)
        message = non_field[0] if non_field else "Some fields are invalid."
        if non_field:
            fields["non_field_errors"] = non_field
        return message, fields
    flat = _flatten(detail)
    if isinstance(flat, list):
        return (flat[0] if flat else "Invalid input."), {}
    return str(flat), {}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            exc = exceptions.ValidationError(exc.message_dict)
        else:
            exc = exceptions.ValidationError(exc.messages)
    elif isinstance(exc, Http404 | ObjectDoesNotExist):
        # A row a service re-reads (locking it) after the view's check can be gone by then: that
        # is the same answer as the check would have given a moment later, not a server error.
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer 500

    if isinstance(exc, exceptions.ValidationError):
        message, fields = _validation_payload(exc.detail)
        code = "invalid"
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        message, fields = str(_flatten(detail)), {}
        code = next(
            (name for klass, name in _CODE_BY_CLASS.items() if isinstance(exc, klass)),
            getattr(exc, "default_code", "error"),
        )
    response.data = error_body(code, message, fields)
    return response


@csrf_exempt  # as every API view: an unknown path is a 404 whatever the method, not a CSRF 403 page
def api_not_found(request, *args, **kwargs):
    return JsonResponse(error_body("not_found", "Not found."), status=status.HTTP_404_NOT_FOUND)


def json_400(request, exception):
    """A request Django refuses before any view (a suspicious one: more form fields than
    ``DATA_UPLOAD_MAX_NUMBER_FIELDS``, a body past ``DATA_UPLOAD_MAX_MEMORY_SIZE``...) answers in the
    API's error shape under /api/; elsewhere Django's page. (With ``DEBUG`` on, Django shows its
    technical page instead and never calls this.)"""
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body("bad_request", "The request was refused."), status=status.HTTP_400_BAD_REQUEST
        )
    return defaults.bad_request(request, exception)


def json_500(request):
    """Server errors under /api/ answer in the API's error shape; others keep Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body("server_error", "Something went wrong on our side."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    return defaults.server_error(request)
