from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path, re_path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core.api.exceptions import api_not_found, api_server_error
from apps.core.views import health, home

api_v1 = [
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.makerspaces.api.urls")),
    path("", include("apps.equipment.api.urls")),
    path("", include("apps.inventory.api.urls")),
    path("", include("apps.projects.api.urls")),
    path("store/", include("apps.store.api.urls")),
]

urlpatterns = [
    path("", home, name="home"),
    path("health", health, name="health"),
    path("admin/", admin.site.urls),
    path("accounts/", include("apps.accounts.urls")),
    path("spaces/", include("apps.makerspaces.urls")),
    path("bookings/feeds/", include("apps.equipment.feed_urls")),
    path("bookings/", include("apps.equipment.urls")),
    path("inventory/", include("apps.inventory.urls")),
    path("projects/", include("apps.projects.urls")),
    path("store/", include("apps.store.urls")),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    # Anything else under /api/ is a JSON 404, also with DEBUG on.
    re_path(r"^api/", api_not_found, name="api-not-found"),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api_server_error(request)
    return defaults.server_error(request)
