"""Response headers that every page and API answer carries."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers, patch_vary_headers


class SecurityHeadersMiddleware:
    """``Permissions-Policy`` everywhere; ``Cache-Control: no-store`` on API answers
    given to a signed-in caller, so no shared cache or browser history keeps them.

    DRF copies the user it authenticated (bearer token or session) onto the
    underlying request, so after the view has run ``request.user`` is the caller.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.PERMISSIONS_POLICY and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = settings.PERMISSIONS_POLICY
        if request.path.startswith("/api/") and self._is_authenticated(request):
            add_never_cache_headers(response)
            patch_vary_headers(response, ["Authorization"])
        return response

    @staticmethod
    def _is_authenticated(request: HttpRequest) -> bool:
        if "HTTP_AUTHORIZATION" in request.META:
            return True
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated)
