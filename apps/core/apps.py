from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from apps.core.net import trusted_proxies

        # An unreadable TRUSTED_PROXIES would fail every request that meets a rate
        # limit; refuse to start instead.
        trusted_proxies()
