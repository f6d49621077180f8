"""Member pages of equipment and bookings."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.accounts.models import User
from apps.equipment.models import Reservation


@login_required
def my_reservations_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    reservations = (
        Reservation.objects.filter(user=user)
        .select_related("equipment", "makerspace")
        .order_by("-start_time")[:200]
    )
    return render(request, "equipment/my_reservations.html", {"reservations": reservations})
