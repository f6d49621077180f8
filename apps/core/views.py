from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.core.health import run_checks


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    healthy, checks = run_checks()
    if healthy:
        return JsonResponse({"status": "ok", "checks": checks})
    failing = sorted(name for name, result in checks.items() if result.startswith("failed"))
    return JsonResponse({"status": "unavailable", "failing": failing, "checks": checks}, status=503)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")
