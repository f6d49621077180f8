from django.conf import settings
from django.http import HttpRequest


def makrx(request: HttpRequest) -> dict[str, object]:
    return {"OIDC_ENABLED": settings.OIDC_ENABLED}
