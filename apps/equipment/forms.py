"""Forms of the booking pages: they shape and check input; services do the work."""

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from apps.equipment.models import EquipmentStatus, EquipmentType

CALENDAR_VIEWS = (("week", _("Week")), ("day", _("Day")))


class EquipmentFilterForm(forms.Form):
    type = forms.ChoiceField(
        label=_("Type"), required=False, choices=[("", _("All types")), *EquipmentType.choices]
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *EquipmentStatus.choices],
    )


class CalendarQueryForm(forms.Form):
    """``?view=week&date=YYYY-MM-DD``; anything unreadable falls back to this week."""

    view = forms.ChoiceField(choices=CALENDAR_VIEWS, required=False)
    date = forms.DateField(required=False, input_formats=["%Y-%m-%d"])

    def view_and_day(self, today: dt.date) -> tuple[str, dt.date]:
        if not self.is_valid():
            return "week", today
        return self.cleaned_data["view"] or "week", self.cleaned_data["date"] or today


def _local_moment(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """``day`` at wall-clock ``at`` in ``zone``; a time the clocks skip is refused."""
    moment = dt.datetime.combine(day, at, tzinfo=zone)
    round_trip = moment.astimezone(dt.UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) != moment.replace(tzinfo=None):
        raise forms.ValidationError(
            _("%(time)s does not exist on %(date)s: the clocks move forward then."),
            params={"time": at.strftime("%H:%M"), "date": date_format(day, "DATE_FORMAT")},
        )
    return moment


class BookingForm(forms.Form):
    """A slot in the space's local time; ``window()`` gives it as aware datetimes."""

    date = forms.DateField(
        label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    start = forms.TimeField(
        label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    end = forms.TimeField(
        label=_("Until"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("00:00 means midnight at the end of the day."),
    )

    def __init__(
        self, *args: Any, timezone_name: str, step_minutes: int = 15, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.zone = ZoneInfo(timezone_name)
        for name in ("start", "end"):
            self.fields[name].widget.attrs["step"] = str(step_minutes * 60)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        day, start, end = cleaned.get("date"), cleaned.get("start"), cleaned.get("end")
        if day is None or start is None or end is None:
            return cleaned
        try:
            cleaned["start_time"] = _local_moment(day, start, self.zone)
            # "Until 00:00" is the midnight that ends the chosen day.
            end_day = day + dt.timedelta(days=1) if end == dt.time(0) else day
            cleaned["end_time"] = _local_moment(end_day, end, self.zone)
        except forms.ValidationError as exc:
            self.add_error(None, exc)
        return cleaned

    def window(self) -> tuple[dt.datetime, dt.datetime]:
        return self.cleaned_data["start_time"], self.cleaned_data["end_time"]
