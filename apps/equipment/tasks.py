"""Equipment emails and periodic jobs. Each task takes ids, loads, and calls a service."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

# Which email a reservation event sends.
RESERVATION_EMAILS = ("confirmed", "pending", "approved", "rejected", "cancelled", "reminder")


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_reservation_email(reservation_id: str, kind: str) -> bool:
    from apps.equipment.models import Reservation

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


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_maintenance_due_email(equipment_id: str) -> bool:
    from apps.core.permissions import STAFF_ROLES
    from apps.equipment.models import Equipment
    from apps.makerspaces.models import Membership, MembershipStatus

    equipment = Equipment.objects.select_related("makerspace").filter(pk=equipment_id).first()
    if equipment is None or not equipment.maintenance_due:
        return False
    staff = list(
        Membership.objects.filter(
            makerspace_id=equipment.makerspace_id,
            role__in=STAFF_ROLES,
            status=MembershipStatus.ACTIVE,
        )
        .select_related("user")
        .values_list("user__email", flat=True)
    )
    if not staff:
        return False
    context = {"equipment": equipment, "hours": equipment.usage_minutes_since_maintenance // 60}
    subject = render_to_string("equipment/email/maintenance_due_subject.txt", context).strip()
    body = render_to_string("equipment/email/maintenance_due.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, staff)
    return True


@shared_task
def offer_freed_slot(reservation_id: str) -> int:
    """A booking stopped holding its slot: offer it to the waitlist."""
    from apps.equipment.services.waitlist import waitlist_offer_freed_slot

    return waitlist_offer_freed_slot(reservation_id=reservation_id)


@shared_task
def mark_no_shows() -> int:
    from apps.equipment.services.reservations import reservations_mark_no_shows

    return reservations_mark_no_shows()


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_waitlist_offer_email(entry_id: str) -> bool:
    from apps.equipment.models import WaitlistEntry, WaitlistStatus

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


@shared_task
def expire_waitlist_offers() -> int:
    from apps.equipment.services.waitlist import waitlist_expire_offers

    return waitlist_expire_offers()


@shared_task
def send_reminders() -> int:
    """Remind members of bookings starting within the next hour, once each."""
    from datetime import timedelta

    from apps.equipment.models import Reservation, ReservationStatus

    now = timezone.now()
    due = Reservation.objects.filter(
        status=ReservationStatus.CONFIRMED,
        reminder_sent_at__isnull=True,
        start_time__gt=now,
        start_time__lte=now + timedelta(hours=1),
    ).values_list("pk", flat=True)
    sent = 0
    for reservation_id in due:
        # Claim the reminder first, so a second run of this job cannot send it again.
        claimed = Reservation.objects.filter(
            pk=reservation_id, reminder_sent_at__isnull=True
        ).update(reminder_sent_at=now)
        if claimed:
            send_reservation_email.delay(str(reservation_id), "reminder")
            sent += 1
    return sent
