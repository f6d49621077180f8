from django.urls import path, re_path

from apps.core.api.routers import OptionalSlashRouter
from apps.equipment.api import views
from apps.makerspaces.api.permissions import UUID_PATTERN

router = OptionalSlashRouter()
space = rf"makerspaces/(?P<makerspace_pk>{UUID_PATTERN})"
router.register(rf"{space}/equipment", views.EquipmentViewSet, basename="makerspace-equipment")
router.register(
    rf"{space}/reservations", views.ReservationViewSet, basename="makerspace-reservation"
)
router.register("users/me/waitlist", views.MyWaitlistViewSet, basename="my-waitlist")
router.register("waitlist", views.WaitlistViewSet, basename="waitlist")

urlpatterns = [
    path("users/me/calendar", views.MyCalendarView.as_view(), name="users-me-calendar"),
    path(
        "users/me/calendar/reset",
        views.MyCalendarResetView.as_view(),
        name="users-me-calendar-reset",
    ),
    re_path(
        rf"^{space}/booking-rules/?$",
        views.BookingRulesViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="makerspace-booking-rules",
    ),
    *router.urls,
]
