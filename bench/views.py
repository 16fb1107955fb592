"""The F_http floor: a bare Django ``JsonResponse`` view, mounted only when ``BENCH_ENDPOINTS`` is on.

It goes through the same middleware as every request, on the same app server and worker count, so
the difference between an endpoint and this view is the endpoint's own work.
"""

from django.http import JsonResponse


def http_floor(request):
    return JsonResponse({"ok": True})
