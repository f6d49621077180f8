from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Benchmark tooling: volume data for load tests; no models, no URLs."""

    name = "bench"
    label = "bench"
    default_auto_field = "django.db.models.BigAutoField"
