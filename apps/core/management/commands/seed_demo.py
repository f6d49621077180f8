"""Load the demo data `make run` shows: each installed app's ``demo.load()``, in order.

Apps are found by name, as the admin finds ``admin.py``, so core imports none of them.
Safe to run again: every loader updates rather than duplicates.
"""

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings


class Command(BaseCommand):
    help = "Create (or refresh) the demo data of every app and print the demo logins."

    def handle(self, *args: object, **options: object) -> None:
        # Demo bookings and stock changes would email the demo people; nobody reads those.
        quiet = override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend")
        with quiet, transaction.atomic():
            for config in apps.get_app_configs():
                if find_spec(f"{config.name}.demo") is None:
                    continue
                import_module(f"{config.name}.demo").load(stdout=self.stdout, style=self.style)
