"""iCalendar feeds of bookings at private token URLs, for calendar apps to subscribe to.

A machine's feed shows when it is booked, never by whom: anyone holding its URL
sees it. A member's feed shows their own bookings across spaces, with their name.
Both list the bookings that hold a slot (pending ones as tentative), from a month
back on; a cancelled booking drops out, so subscribed calendars remove it.
"""

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from icalendar import Calendar, Event

from apps.equipment.models import (
    HOLDING_STATUSES,
    Equipment,
    MemberCalendarFeed,
    Reservation,
    ReservationStatus,
)

FEED_PAST_DAYS = 30
REFRESH_MINUTES = 15


# Tokens that reverse() puts in the path as they are (token_urlsafe's alphabet).
_PLAIN_TOKEN = re.compile(r"[-A-Za-z0-9_]+")


def equipment_feed_url(equipment: Equipment) -> str:
    path = reverse("equipment_feeds:equipment", kwargs={"token": equipment.calendar_token})
    return settings.SITE_URL + path


def equipment_feed_urls() -> Callable[[str], str]:
    """``equipment_feed_url`` by token, for a page of machines: one reverse() for all."""
    marker = "token"
    before, _, after = reverse("equipment_feeds:equipment", kwargs={"token": marker}).rpartition(
        marker
    )
    before = settings.SITE_URL + before

    def url(token: str) -> str:
        if _PLAIN_TOKEN.fullmatch(token):
            return before + token + after
        path = reverse("equipment_feeds:equipment", kwargs={"token": token})
        return settings.SITE_URL + path

    return url


def member_feed_url(feed: MemberCalendarFeed) -> str:
    return settings.SITE_URL + reverse("equipment_feeds:member", kwargs={"token": feed.token})


def _holding_since(now: datetime) -> QuerySet[Reservation]:
    return (
        Reservation.objects.filter(
            status__in=HOLDING_STATUSES, end_time__gt=now - timedelta(days=FEED_PAST_DAYS)
        )
        .select_related("equipment", "makerspace")
        .order_by("start_time", "pk")
    )


def _calendar(name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//MakrX//Bookings//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add(
        "refresh-interval", timedelta(minutes=REFRESH_MINUTES), parameters={"VALUE": "DURATION"}
    )
    calendar.add("x-published-ttl", f"PT{REFRESH_MINUTES}M")
    return calendar


def _event(reservation: Reservation, *, summary: str, description: str = "") -> Event:
    event = Event()
    event.add("uid", str(reservation.pk))
    event.add("dtstamp", reservation.updated_at.astimezone(UTC))
    event.add("dtstart", reservation.start_time.astimezone(UTC))
    event.add("dtend", reservation.end_time.astimezone(UTC))
    event.add("summary", summary)
    event.add("location", f"{reservation.makerspace.name} — {reservation.equipment.name}")
    event.add(
        "status",
        "TENTATIVE" if reservation.status == ReservationStatus.PENDING else "CONFIRMED",
    )
    if description:
        event.add("description", description)
    return event


def _ics_response(calendar: Calendar, filename: str) -> HttpResponse:
    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}.ics"'
    # The URL is a secret: keep it out of shared caches and search engines.
    response["Cache-Control"] = f"private, max-age={REFRESH_MINUTES * 60}"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_GET
def equipment_feed(request: HttpRequest, token: str) -> HttpResponse:
    equipment = (
        Equipment.objects.select_related("makerspace")
        .filter(calendar_token=token, makerspace__is_active=True)
        .first()
    )
    if equipment is None:
        raise Http404("No such calendar.")
    calendar = _calendar(f"{equipment.name} — {equipment.makerspace.name}")
    for reservation in _holding_since(timezone.now()).filter(equipment=equipment):
        calendar.add_component(_event(reservation, summary="Booked"))
    return _ics_response(calendar, f"equipment-{equipment.pk}")


@require_GET
def member_feed(request: HttpRequest, token: str) -> HttpResponse:
    feed = (
        MemberCalendarFeed.objects.select_related("user")
        .filter(token=token, user__is_active=True)
        .first()
    )
    if feed is None:
        raise Http404("No such calendar.")
    user = feed.user
    calendar = _calendar(f"MakrX bookings of {user.name}")
    for reservation in _holding_since(timezone.now()).filter(user=user):
        pending = reservation.status == ReservationStatus.PENDING
        calendar.add_component(
            _event(
                reservation,
                summary=f"{reservation.equipment.name} ({reservation.makerspace.name})",
                description="\n".join(
                    line
                    for line in (
                        f"Booked for {user.name}" + (", waiting for approval." if pending else "."),
                        reservation.notes,
                    )
                    if line
                ),
            )
        )
    return _ics_response(calendar, "my-bookings")
