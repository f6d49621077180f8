"""Demo accounts: a super admin, a space admin, a manager and two members."""

from typing import Any

from apps.accounts.models import User

DEMO_PASSWORD = "makrx-demo-2026"
DEMO_USERS = [
    # email, name, is_superuser, locale, who
    ("admin@makrx.local", "Olena Admin", True, "uk", "super admin, /admin/"),
    ("owner@makrx.local", "Oksana Owner", False, "uk", "admin of Kyiv Fab Lab"),
    ("manager@makrx.local", "Marco Manager", False, "en", "manager of Kyiv Fab Lab, /admin/"),
    ("member@makrx.local", "Mia Member", False, "en", "member, laser-trained"),
    ("newbie@makrx.local", "Nick Newbie", False, "en", "member, no skills yet"),
]


def load(*, stdout: Any, style: Any) -> None:
    for email, name, is_superuser, locale, _who in DEMO_USERS:
        user = User.objects.filter(email=email).first() or User(email=email)
        user.name = name
        user.locale = locale
        user.is_superuser = is_superuser
        user.is_staff = is_superuser
        user.email_verified = True
        user.set_password(DEMO_PASSWORD)
        user.save()
    stdout.write(style.SUCCESS("Demo data is loaded. Open http://127.0.0.1:8000 and sign in:"))
    for email, _name, _superuser, _locale, who in DEMO_USERS:
        stdout.write(f"  {email:<22} {DEMO_PASSWORD}   ({who})")
