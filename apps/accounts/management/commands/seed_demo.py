"""Load the demo data `make run` shows. Safe to run again: it updates, never duplicates."""

from django.core.management.base import BaseCommand
from django.db import transaction

from apps.accounts.models import User

DEMO_PASSWORD = "makrx-demo-2026"
DEMO_USERS = [
    # email, name, is_superuser, locale
    ("admin@makrx.local", "Olena Admin", True, "uk"),
    ("manager@makrx.local", "Marco Manager", False, "en"),
    ("member@makrx.local", "Mia Member", False, "en"),
]


class Command(BaseCommand):
    help = "Create (or refresh) the demo accounts and data, and print the demo logins."

    def handle(self, *args: object, **options: object) -> None:
        with transaction.atomic():
            for email, name, is_superuser, locale in DEMO_USERS:
                user = User.objects.filter(email=email).first()
                if user is None:
                    user = User(email=email)
                user.name = name
                user.locale = locale
                user.is_superuser = is_superuser
                user.is_staff = is_superuser
                user.email_verified = True
                user.set_password(DEMO_PASSWORD)
                user.save()
        self.stdout.write(
            self.style.SUCCESS("Demo data is loaded. Sign in at http://127.0.0.1:8000")
        )
        self.stdout.write(f"  {'email':<24} password")
        for email, name, is_superuser, _locale in DEMO_USERS:
            role = "super admin, /admin/" if is_superuser else name.split()[-1].lower()
            self.stdout.write(f"  {email:<24} {DEMO_PASSWORD}   ({role})")
