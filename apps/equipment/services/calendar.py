"""The secret tokens behind the iCalendar feed URLs of members."""

import secrets

from django.db import transaction

from apps.accounts.models import User
from apps.core.exceptions import permission_denied
from apps.equipment.models import MemberCalendarFeed


def member_calendar_feed_get(*, user: User) -> MemberCalendarFeed:
    """The member's feed, made on first use."""
    feed, _ = MemberCalendarFeed.objects.get_or_create(user=user)
    return feed


def member_calendar_feed_reset(*, user: User, acting_user: User) -> MemberCalendarFeed:
    """A new secret for the member's feed; the old URL stops working at once.

    Only the member does this: the feed shows their own bookings, and nobody else has a
    reason to break their calendar's subscription.
    """
    if user.pk != acting_user.pk:
        raise permission_denied("Only the member resets their own calendar feed.")
    with transaction.atomic():
        feed, created = MemberCalendarFeed.objects.select_for_update().get_or_create(user=user)
        if not created:
            feed.token = secrets.token_urlsafe()
            feed.save(update_fields=["token", "updated_at"])
    return feed
