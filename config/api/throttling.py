"""Per-user throttles. Reads are cheap and cached; writes are what we rate-limit."""

from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class UserWriteThrottle(UserRateThrottle):
    """Every authenticated write counts against one per-user budget."""

    scope = "user_write"

    def allow_request(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)


class WriteScopedThrottle(ScopedRateThrottle):
    """A tighter budget for one kind of write (views set ``throttle_scope``)."""

    def allow_request(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)
