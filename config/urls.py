from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path, register_converter
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.api.converters import IdConverter, TextConverter
from config.api.exceptions import api_not_found
from config.api.health import HealthView
from config.api.routing import by_first_segment

register_converter(TextConverter, "text")  # before the apps' urls below use them
register_converter(IdConverter, "id")

#: The API's patterns, busiest first; each app's are tried only when the first segment is theirs.
API_PATTERNS = [
    path("", include("notes.api.urls")),
    path("", include("accounts.api.urls")),
    path("health", HealthView.as_view(), name="health"),
    path("", include("shop.api.urls")),
    path("", include("shop.api.orders_urls")),
]
api_v1 = [
    *by_first_segment(API_PATTERNS),
    # Last: unknown API paths answer in the API's error shape, in DEBUG too (with a newline in the
    # path too, which ``.`` does not match).
    re_path(r"^[\s\S]*$", api_not_found),
]

urlpatterns = [
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path("admin/", admin.site.urls),
    path("_allauth/", include("allauth.headless.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

if settings.DEBUG and "FileSystemStorage" in settings.STORAGES["default"]["BACKEND"]:
    urlpatterns += [
        path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})
    ]

if settings.BENCH_ENDPOINTS:  # the harness's F_http floor (`make bench`); off unless asked for
    from bench.views import http_floor

    urlpatterns.insert(0, path("_bench/http", http_floor, name="bench-http"))

handler400 = "config.api.exceptions.json_400"
handler500 = "config.api.exceptions.json_500"
