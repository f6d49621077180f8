"""The system actor: who scheduled jobs and management commands act as.

Services check ``acting_user`` against the role matrix and write it to the audit
log, so a job names an actor too rather than passing ``None``. The system actor is a
super admin (it may do what any job needs in any space) that cannot sign in: its
password is unusable, it is not staff, and its address is on the reserved
``.invalid`` domain that no identity provider can issue.
"""

from django.db import IntegrityError, transaction

from apps.accounts.models import User

SYSTEM_EMAIL = "system@makrx.invalid"


def system_actor() -> User:
    user = User.objects.filter(email=SYSTEM_EMAIL).first()
    if user is not None:
        return user
    try:
        with transaction.atomic():
            user = User(
                email=SYSTEM_EMAIL,
                name="MakrX",
                is_superuser=True,
                is_staff=False,
                email_verified=True,
            )
            user.set_unusable_password()
            user.save()
            return user
    except IntegrityError:
        # Two jobs made it at once: the other one's row is the system actor.
        return User.objects.get(email=SYSTEM_EMAIL)
