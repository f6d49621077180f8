from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation


class UserLocaleMiddleware:
    """A signed-in user's chosen language wins over the browser's Accept-Language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "locale", None):
            translation.activate(user.locale)
            request.LANGUAGE_CODE = user.locale
        return self.get_response(request)
