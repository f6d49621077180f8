"""Equipment's periodic jobs. Each task takes ids, loads, and calls a service."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from apps.accounts.system import system_actor
from apps.equipment.emails import send_reservation_email
from apps.equipment.models import Reservation, ReservationStatus
from apps.equipment.services.reservations import reservations_mark_no_shows
from apps.equipment.services.waitlist import waitlist_expire_offers


@shared_task
def mark_no_shows() -> int:
    return reservations_mark_no_shows(acting_user=system_actor())


@shared_task
def expire_waitlist_offers() -> int:
    return waitlist_expire_offers(acting_user=system_actor())


@shared_task
def send_reminders() -> int:
    """Remind members of bookings starting within the next hour, once each."""
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
