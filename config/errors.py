"""Domain errors raised by services and selectors.

Services never raise DRF exceptions; the API's exception handler maps these to the one JSON error
shape ``{"error": {"code", "message", "fields"}}`` with the status given here.
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "invalid"
    message = "The request could not be processed."

    def __init__(self, message: str | None = None, *, code: str | None = None, fields=None):
        super().__init__(message or self.message)
        self.message = message or self.message
        if code:
            self.code = code
        self.fields = fields or {}


class InvalidInput(DomainError):
    status = 400
    code = "invalid"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    message = "Not found."


class Forbidden(DomainError):
    status = 403
    code = "permission_denied"
    message = "You may not do this."


class Conflict(DomainError):
    status = 409
    code = "conflict"
    message = "The request conflicts with the current state."


class PayloadTooLarge(DomainError):
    status = 413
    code = "too_large"
    message = "The upload is too large."


class Unprocessable(DomainError):
    status = 422
    code = "unprocessable"
    message = "The request cannot be processed as sent."
