from django.apps import AppConfig


class MakerspacesConfig(AppConfig):
    name = "apps.makerspaces"
    label = "makerspaces"
    verbose_name = "Makerspaces"
