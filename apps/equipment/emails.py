"""Equipment emails, sent by Celery after the write that causes them has committed.

Services enqueue these; they sit below the services so that the periodic jobs in
``tasks.py`` can call the services without an import cycle.
"""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from apps.equipment.models import Equipment, Reservation, WaitlistEntry, WaitlistStatus
from apps.makerspaces.selectors import staff_emails_of

# Which email a reservation event sends.
RESERVATION_EMAILS = ("confirmed", "pending", "approved", "rejected", "cancelled", "reminder")


# Task names stay those the tasks had in tasks.py, so queued messages still route.
@shared_task(
    name="apps.equipment.tasks.send_reservation_email",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_reservation_email(reservation_id: str, kind: str) -> bool:
    if kind not in RESERVATION_EMAILS:
        raise ValueError(f"Unknown reservation email {kind!r}")
    reservation = (
        Reservation.objects.select_related("equipment", "makerspace", "user")
        .filter(pk=reservation_id)
        .first()
    )
    if reservation is None:
        return False
    user = reservation.user
    local_zone = reservation.makerspace.timezone
    with translation.override(user.locale), timezone.override(local_zone):
        context = {
            "reservation": reservation,
            "kind": kind,
            "user": user,
            "link": settings.SITE_URL + reverse("equipment:my-reservations"),
        }
        subject = render_to_string("equipment/email/reservation_subject.txt", context).strip()
        body = render_to_string("equipment/email/reservation.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    return True


@shared_task(
    name="apps.equipment.tasks.send_maintenance_due_email",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_maintenance_due_email(equipment_id: str) -> bool:
    equipment = Equipment.objects.select_related("makerspace").filter(pk=equipment_id).first()
    if equipment is None or not equipment.maintenance_due:
        return False
    staff = staff_emails_of(equipment.makerspace_id)
    if not staff:
        return False
    context = {"equipment": equipment, "hours": equipment.usage_minutes_since_maintenance // 60}
    subject = render_to_string("equipment/email/maintenance_due_subject.txt", context).strip()
    body = render_to_string("equipment/email/maintenance_due.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, staff)
    return True


@shared_task(
    name="apps.equipment.tasks.send_waitlist_offer_email",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_waitlist_offer_email(entry_id: str) -> bool:
    entry = (
        WaitlistEntry.objects.select_related("equipment", "makerspace", "user")
        .filter(pk=entry_id, status=WaitlistStatus.OFFERED)
        .first()
    )
    if entry is None:
        return False
    user = entry.user
    with translation.override(user.locale), timezone.override(entry.makerspace.timezone):
        context = {
            "entry": entry,
            "user": user,
            "link": settings.SITE_URL + reverse("equipment:my-reservations"),
        }
        subject = render_to_string("equipment/email/waitlist_offer_subject.txt", context).strip()
        body = render_to_string("equipment/email/waitlist_offer.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    return True
