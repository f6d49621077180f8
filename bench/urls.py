"""The product's URLs and, under /bench/, the floors every scenario is measured against."""

from django.urls import path

from bench import floors
from makrx.urls import handler404, handler500
from makrx.urls import urlpatterns as product_urlpatterns

urlpatterns = [
    path("bench/f0", floors.f0, name="bench-f0"),
    path("bench/f1/<slug:scenario>", floors.f1, name="bench-f1"),
    *product_urlpatterns,
]

__all__ = ["handler404", "handler500", "urlpatterns"]
