from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID

from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from apps.core.api.actors import acting_user, in_space_or_400
from apps.core.api.concurrency import etag_for, if_match
from apps.core.api.filters import list_criteria
from apps.core.api.pagination import expected_page
from apps.core.api.serializers import ErrorSerializer
from apps.core.exceptions import ConflictError
from apps.core.permissions import has_makerspace_permission
from apps.equipment import selectors
from apps.equipment.api import presenters
from apps.equipment.api import serializers as s
from apps.equipment.api.filters import EquipmentFilter, ReservationFilter
from apps.equipment.feeds import member_feed_url
from apps.equipment.models import (
    BookingRules,
    Equipment,
    Reservation,
    WaitlistEntry,
)
from apps.equipment.rules import RULE_NAMES, rules_for, space_rules
from apps.equipment.services import calendar as calendar_services
from apps.equipment.services import equipment as equipment_services
from apps.equipment.services import maintenance as maintenance_services
from apps.equipment.services import recurring as recurring_services
from apps.equipment.services import reservations as reservation_services
from apps.equipment.services import waitlist as waitlist_services
from apps.inventory.models import InventoryItem
from apps.inventory.services import Withdrawal
from apps.makerspaces.api.permissions import (
    UUID_PATTERN,
    HasMakerspacePermission,
    MakerspaceScopedMixin,
)

ERROR = OpenApiResponse(ErrorSerializer, description="Error envelope")


@extend_schema_view(
    list=extend_schema(
        responses={200: s.EquipmentSerializer(many=True), 400: ERROR, 404: ERROR},
    ),
    retrieve=extend_schema(responses={200: s.EquipmentSerializer, 404: ERROR}),
    create=extend_schema(responses={201: s.EquipmentSerializer, 400: ERROR, 403: ERROR}),
    partial_update=extend_schema(
        responses={200: s.EquipmentSerializer, 400: ERROR, 403: ERROR, 412: ERROR}
    ),
    update=extend_schema(
        responses={200: s.EquipmentSerializer, 400: ERROR, 403: ERROR, 412: ERROR}
    ),
    destroy=extend_schema(responses={204: None, 403: ERROR, 409: ERROR}),
)
class EquipmentViewSet(mixins.ListModelMixin, MakerspaceScopedMixin):
    """The machines of a makerspace, with live availability and 30-day utilization."""

    # PUT/PATCH take If-Match and may answer 412 (declared in the schema).
    optimistic_locking = True

    queryset = Equipment.objects.none()  # the schema's model; rows come from get_queryset
    serializer_class = s.EquipmentSerializer
    filterset_class = EquipmentFilter
    permission_classes = [HasMakerspacePermission]
    lookup_value_regex = UUID_PATTERN
    required_permissions = {
        "list": "equipment.view",
        "retrieve": "equipment.view",
        "create": "equipment.create",
        "update": "equipment.update",
        "partial_update": "equipment.update",
        "destroy": "equipment.delete",
        "available": "equipment.book",
        "maintenance": "equipment.view",
        "add_maintenance": "equipment.maintain",
        "rules": "equipment.view",
        "update_rules": "equipment.update",
        "waitlist": "reservations.manage",
        "join_waitlist": "equipment.book",
    }

    def get_queryset(self) -> Any:
        return selectors.equipment_of_space(self.get_makerspace())

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if getattr(self, "swagger_fake_view", False):
            return context
        makerspace = self.get_makerspace()
        context["open_seconds"] = {makerspace.pk: self._open_seconds(timezone.now())}
        return context

    def _open_seconds(self, now: datetime) -> float:
        since = now - timedelta(days=selectors.UTILIZATION_DAYS)
        return selectors.open_seconds(self.get_makerspace(), since, now)

    def _machines_json(self, machines: Sequence[Any], now: datetime) -> list[dict[str, Any]]:
        """The rows as EquipmentSerializer shows them (presenters)."""
        if not machines:
            return []
        return presenters.machines_json(
            machines,
            currency=self.get_makerspace().currency,
            open_seconds=self._open_seconds(now),
        )

    def list(self, request: Request, makerspace_pk: str) -> Response:
        criteria = list_criteria(self, Equipment)
        now = timezone.now()
        machines = selectors.machine_rows_of_space(
            self.get_makerspace(),
            status=criteria.get("status") or None,
            equipment_type=criteria.get("type") or None,
            now=now,
        )
        machines.expect(*expected_page(request))
        page = self.paginate_queryset(machines) or []
        return self.get_paginated_response(self._machines_json(page, now))

    def retrieve(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        # Not RetrieveModelMixin's: the answer carries the ETag that PUT/PATCH send back.
        try:
            machine_id = UUID(pk)
        except ValueError:
            raise Http404("No such machine.") from None
        # As DRF's get_object, the list's filters apply to the one machine too.
        criteria = list_criteria(self, Equipment)
        now = timezone.now()
        machine = selectors.machine_row_of_space(self.get_makerspace(), machine_id, now=now)
        if machine is None or not selectors.machine_matches(
            machine,
            status=criteria.get("status") or None,
            equipment_type=criteria.get("type") or None,
        ):
            raise Http404("No such machine.")
        (shown,) = self._machines_json([machine], now)
        # The ETag reads the row's pk and updated_at, which the row has as a model would.
        return Response(shown, headers={"ETag": etag_for(cast(Equipment, machine))})

    def create(self, request: Request, makerspace_pk: str) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        skills = fields.pop("skill_requirements", None)
        equipment = equipment_services.equipment_create(
            makerspace=self.get_makerspace(),
            acting_user=acting_user(request),
            skill_slugs=skills,
            **fields,
        )
        fresh = self.get_queryset().get(pk=equipment.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_201_CREATED)

    def update(
        self, request: Request, makerspace_pk: str, pk: str, partial: bool = False
    ) -> Response:
        equipment = self.get_object()
        body = self.get_serializer(equipment, data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        skills = fields.pop("skill_requirements", None)
        equipment_services.equipment_update(
            equipment=equipment,
            acting_user=acting_user(request),
            changes=fields,
            skill_slugs=skills,
            expected_etag=if_match(request),
        )
        fresh = self.get_queryset().get(pk=equipment.pk)
        return Response(self.get_serializer(fresh).data, headers={"ETag": etag_for(fresh)})

    def partial_update(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        return self.update(request, makerspace_pk, pk, partial=True)

    def destroy(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        equipment_services.equipment_delete(
            equipment=self.get_object(), acting_user=acting_user(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[s.WindowQuerySerializer],
        responses={200: s.EquipmentSerializer(many=True), 400: ERROR},
    )
    @action(detail=False, methods=["get"], filter_backends=[])
    def available(self, request: Request, makerspace_pk: str) -> Response:
        """Machines the caller may book from `start` to `end`: available, trained, free."""
        query = s.WindowQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        now = timezone.now()
        machines = selectors.bookable_machine_rows(
            makerspace=self.get_makerspace(),
            user=acting_user(request),
            start=query.validated_data["start"],
            end=query.validated_data["end"],
            now=now,
        )
        machines.expect(*expected_page(request))
        page = self.paginate_queryset(machines) or []
        return self.get_paginated_response(self._machines_json(page, now))

    # Reading and writing a log or the rules are separate actions (``.mapping``), so
    # each method has its own permission, in the table above and in OPTIONS.
    @extend_schema(responses={200: s.MaintenanceLogSerializer(many=True), 404: ERROR})
    @action(
        detail=True,
        methods=["get"],
        serializer_class=s.MaintenanceLogSerializer,
        filter_backends=[],
    )
    def maintenance(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        """The machine's maintenance log, newest first."""
        equipment = self.get_object()
        logs = equipment.maintenance_logs.select_related("performed_by").order_by("-performed_at")
        page = self.paginate_queryset(logs)
        return self.get_paginated_response(s.MaintenanceLogSerializer(page, many=True).data)

    @extend_schema(
        request=s.MaintenanceLogSerializer,
        responses={201: s.MaintenanceLogSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    @maintenance.mapping.post
    def add_maintenance(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        """Staff add a log entry; a routine one resets the usage counter."""
        equipment = self.get_object()
        body = s.MaintenanceLogSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        log = maintenance_services.maintenance_log_add(
            equipment=equipment, acting_user=acting_user(request), **body.validated_data
        )
        return Response(s.MaintenanceLogSerializer(log).data, status=status.HTTP_201_CREATED)

    def _effective_rules(self, equipment: Equipment) -> Response:
        effective = rules_for(equipment)
        return Response({name: getattr(effective, name) for name in RULE_NAMES})

    @extend_schema(responses={200: s.EquipmentRulesSerializer, 404: ERROR})
    @action(detail=True, methods=["get"], serializer_class=s.EquipmentRulesSerializer)
    def rules(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        """The machine's booking rules as they apply."""
        return self._effective_rules(self.get_object())

    @extend_schema(
        request=s.EquipmentRulesSerializer,
        responses={200: s.EquipmentRulesSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    @rules.mapping.patch
    def update_rules(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        """Set the machine's overrides; null falls back to the space's rule."""
        equipment = self.get_object()
        body = s.EquipmentRulesSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        equipment_services.equipment_rules_update(
            equipment=equipment, acting_user=acting_user(request), changes=dict(body.validated_data)
        )
        return self._effective_rules(equipment)

    @extend_schema(
        responses={200: s.WaitlistEntrySerializer(many=True), 403: ERROR, 404: ERROR},
        description=(
            "Staff: the machine's waitlist, entries still waiting or offered, first come "
            "first. Members get 403; they see their own entries at `/users/me/waitlist`."
        ),
    )
    @action(
        detail=True, methods=["get"], serializer_class=s.WaitlistEntrySerializer, filter_backends=[]
    )
    def waitlist(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        entries = selectors.waitlist_of_equipment(self.get_object())
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(s.WaitlistEntrySerializer(page, many=True).data)

    @extend_schema(
        request=s.WaitlistJoinSerializer,
        responses={
            201: s.WaitlistEntrySerializer,
            400: ERROR,
            403: ERROR,
            404: ERROR,
            409: ERROR,
        },
        description=(
            "Queue for a taken slot. When it frees up the first in line is emailed and the "
            "slot is held for them until `offer_expires_at`. A free slot is 409 `SLOT_FREE` "
            "(book it instead); waiting already is 409 `ALREADY_WAITING`."
        ),
    )
    @waitlist.mapping.post
    def join_waitlist(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        equipment = self.get_object()
        body = s.WaitlistJoinSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = acting_user(request)
        entry = waitlist_services.waitlist_join(
            equipment=equipment,
            user=user,
            start=body.validated_data["start_time"],
            end=body.validated_data["end_time"],
            acting_user=user,
        )
        return Response(s.WaitlistEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class BookingRulesViewSet(MakerspaceScopedMixin):
    """The space's booking rules (each machine may override them): GET and PATCH."""

    queryset = BookingRules.objects.none()  # the schema's model
    serializer_class = s.RulesSerializer
    permission_classes = [HasMakerspacePermission]
    required_permissions = {"retrieve": "makerspace.view", "partial_update": "equipment.update"}

    def _current(self) -> Response:
        rules = space_rules(self.get_makerspace())
        return Response({name: getattr(rules, name) for name in RULE_NAMES})

    @extend_schema(responses={200: s.RulesSerializer, 404: ERROR})
    def retrieve(self, request: Request, makerspace_pk: str) -> Response:
        return self._current()

    @extend_schema(
        request=s.RulesSerializer, responses={200: s.RulesSerializer, 400: ERROR, 403: ERROR}
    )
    def partial_update(self, request: Request, makerspace_pk: str) -> Response:
        body = s.RulesSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        equipment_services.booking_rules_update(
            makerspace=self.get_makerspace(),
            acting_user=acting_user(request),
            changes=dict(body.validated_data),
        )
        return self._current()


@extend_schema_view(
    list=extend_schema(
        responses={200: s.ReservationSerializer(many=True), 400: ERROR},
        description="The caller's bookings; staff see everyone's (`mine=true` for their own).",
    ),
    retrieve=extend_schema(responses={200: s.ReservationSerializer, 404: ERROR}),
    create=extend_schema(
        request=s.ReservationCreateSerializer,
        responses={
            201: s.ReservationSerializer,
            400: ERROR,
            403: ERROR,
            404: ERROR,
            409: ERROR,
        },
        description=(
            "Book a machine for the caller. A taken slot is 409 `RESERVATION_CONFLICT` whose "
            "`details.waitlist` says whether the caller can queue for it (`can_join`) and "
            "where (`url`, the machine's waitlist route)."
        ),
    ),
)
class ReservationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, MakerspaceScopedMixin):
    """Bookings of the space's machines."""

    queryset = Reservation.objects.none()  # the schema's model
    serializer_class = s.ReservationSerializer
    filterset_class = ReservationFilter
    permission_classes = [HasMakerspacePermission]
    lookup_value_regex = UUID_PATTERN
    required_permissions = {
        "list": "equipment.book",
        "retrieve": "equipment.book",
        "create": "equipment.book",
        "cancel": "equipment.book",
        "check_in": "equipment.book",
        "check_out": "equipment.book",
        "approve": "reservations.manage",
        "reject": "reservations.manage",
        "recurring_preview": "equipment.book",
        "recurring": "equipment.book",
        "cancel_series": "equipment.book",
    }

    def _is_staff(self) -> bool:
        return has_makerspace_permission(
            self.request.user, self.get_makerspace(), "reservations.manage"
        )

    def get_queryset(self) -> Any:
        makerspace = self.get_makerspace()
        # Members see their own bookings only; another member's is a 404 to them.
        user = None if self._is_staff() else acting_user(self.request)
        return selectors.reservations_of_space(makerspace, user=user)

    def list(self, request: Request, makerspace_pk: str) -> Response:
        criteria = list_criteria(self, Reservation)
        caller = acting_user(request)
        # Members see their own bookings only; staff everyone's, or theirs with mine.
        own = criteria.get("mine") or not self._is_staff()
        reservations = selectors.reservation_rows_of_space(
            self.get_makerspace(),
            user=caller if own else None,
            statuses=criteria.get("status"),
            equipment_id=criteria.get("equipment"),
            start=criteria.get("start"),
            end=criteria.get("end"),
        )
        reservations.expect(*expected_page(request))
        page = self.paginate_queryset(reservations) or []
        return self.get_paginated_response(presenters.reservations_json(page))

    def create(self, request: Request, makerspace_pk: str) -> Response:
        body = s.ReservationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        equipment = self._machine(body.validated_data["equipment"])
        user = acting_user(request)
        start, end = body.validated_data["start_time"], body.validated_data["end_time"]
        try:
            reservation = reservation_services.reservation_create(
                equipment=equipment,
                user=user,
                start=start,
                end=end,
                notes=body.validated_data["notes"],
                acting_user=user,
            )
        except ConflictError as exc:
            if exc.code == "RESERVATION_CONFLICT":
                exc.details["waitlist"] = {
                    "can_join": selectors.waitlist_open_to(
                        equipment=equipment, user=user, start=start, end=end
                    ),
                    "url": waitlist_url(equipment),
                }
            raise
        shown = presenters.reservation_json(selectors.reservation_row(reservation))
        return Response(shown, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.ReasonSerializer,
        responses={200: s.ReservationSerializer, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        body = s.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reservation = reservation_services.reservation_cancel(
            reservation=self.get_object(),
            acting_user=acting_user(request),
            reason=body.validated_data["reason"],
        )
        return Response(self.get_serializer(reservation).data)

    @extend_schema(request=None, responses={200: s.ReservationSerializer, 403: ERROR, 409: ERROR})
    @action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        reservation = reservation_services.reservation_check_in(
            reservation=self.get_object(), acting_user=acting_user(request)
        )
        return Response(self.get_serializer(reservation).data)

    @extend_schema(
        request=s.CheckOutSerializer,
        responses={200: s.ReservationSerializer, 403: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["post"], url_path="check-out")
    def check_out(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        body = s.CheckOutSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        used = body.validated_data.get("materials", [])
        items = InventoryItem.objects.filter(
            makerspace=self.get_makerspace(), pk__in=[line["item"] for line in used]
        ).in_bulk()
        unknown = sorted({str(line["item"]) for line in used} - {str(pk) for pk in items})
        if unknown:
            raise ValidationError({"materials": [f"No such item here: {', '.join(unknown)}."]})
        reservation = reservation_services.reservation_check_out(
            reservation=self.get_object(),
            acting_user=acting_user(request),
            notes=body.validated_data["notes"],
            materials=[Withdrawal(items[line["item"]], line["quantity"]) for line in used],
        )
        return Response(self.get_serializer(reservation).data)

    @extend_schema(request=None, responses={200: s.ReservationSerializer, 403: ERROR, 409: ERROR})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        reservation = reservation_services.reservation_decide(
            reservation=self.get_object(), acting_user=acting_user(request), approve=True
        )
        return Response(self.get_serializer(reservation).data)

    @extend_schema(
        request=s.ReasonSerializer,
        responses={200: s.ReservationSerializer, 403: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        body = s.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reservation = reservation_services.reservation_decide(
            reservation=self.get_object(),
            acting_user=acting_user(request),
            approve=False,
            reason=body.validated_data["reason"],
        )
        return Response(self.get_serializer(reservation).data)

    def _machine(self, equipment_id: Any) -> Equipment:
        makerspace = self.get_makerspace()
        machine = in_space_or_400(
            # Unordered: the model's ordering would join the space only to sort one row.
            Equipment.objects.order_by(),
            pk=equipment_id,
            makerspace_id=makerspace.pk,
            field="equipment",
            label="machine",
        )
        # Its space is the one of the URL, loaded already.
        machine.makerspace = makerspace
        return machine

    @extend_schema(
        request=s.RecurringPreviewInputSerializer,
        responses={200: s.RecurringPreviewSerializer, 400: ERROR, 404: ERROR},
        description=(
            "Every weekly repeat of a booking (same local time) up to `until`, `count` "
            "or the booking horizon, each `ok` or with the `reason` it cannot be booked. "
            "Books nothing. Times are given in the space's timezone."
        ),
    )
    @action(detail=False, methods=["post"], url_path="recurring/preview")
    def recurring_preview(self, request: Request, makerspace_pk: str) -> Response:
        body = s.RecurringPreviewInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        equipment = self._machine(body.validated_data["equipment"])
        preview = recurring_services.recurring_preview(
            equipment=equipment,
            user=acting_user(request),
            start=body.validated_data["start_time"],
            end=body.validated_data["end_time"],
            until=body.validated_data.get("until"),
            count=body.validated_data.get("count"),
        )
        shown = {
            "equipment": equipment.pk,
            "occurrences": [recurring_services.occurrence_as_dict(o) for o in preview.occurrences],
            "bookable_count": preview.bookable_count,
            "horizon_end": preview.horizon_end,
            "capped_by_horizon": preview.capped_by_horizon,
            "requires_approval": preview.requires_approval,
            "booking_limit": preview.booking_limit,
            "upcoming_bookings": preview.upcoming_bookings,
        }
        with timezone.override(equipment.makerspace.timezone):
            return Response(s.RecurringPreviewSerializer(shown).data)

    @extend_schema(
        request=s.RecurringBookInputSerializer,
        responses={
            201: s.RecurringBookingSerializer,
            400: ERROR,
            403: ERROR,
            404: ERROR,
            409: ERROR,
        },
        description=(
            "Book the picked weeks of a preview in one request; they share a `series_id`. "
            "A week that cannot be booked any more is listed in `refused` and the others "
            "stay booked. Nothing bookable: 409 `NOTHING_BOOKED`."
        ),
    )
    @action(detail=False, methods=["post"], url_path="recurring")
    def recurring(self, request: Request, makerspace_pk: str) -> Response:
        body = s.RecurringBookInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        equipment = self._machine(body.validated_data["equipment"])
        series = recurring_services.recurring_book(
            equipment=equipment,
            user=acting_user(request),
            start=body.validated_data["start_time"],
            end=body.validated_data["end_time"],
            occurrences=body.validated_data["occurrences"],
            notes=body.validated_data["notes"],
            acting_user=acting_user(request),
        )
        booked = self.get_queryset().filter(pk__in=[r.pk for r in series.booked])
        shown = {
            "series_id": series.series_id,
            "booked": booked,
            "refused": [recurring_services.occurrence_as_dict(o) for o in series.refused],
        }
        with timezone.override(equipment.makerspace.timezone):
            return Response(
                s.RecurringBookingSerializer(shown).data, status=status.HTTP_201_CREATED
            )

    @extend_schema(
        request=s.ReasonSerializer,
        responses={200: s.SeriesCancelSerializer, 403: ERROR, 404: ERROR, 409: ERROR},
        description="Cancel every booking of this one's series that has not started yet.",
    )
    @action(detail=True, methods=["post"], url_path="cancel-series")
    def cancel_series(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        body = s.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reservation = self.get_object()
        cancelled = recurring_services.reservation_series_cancel(
            reservation=reservation,
            acting_user=acting_user(request),
            reason=body.validated_data["reason"],
        )
        fresh = self.get_queryset().filter(pk__in=[r.pk for r in cancelled])
        return Response(
            s.SeriesCancelSerializer({"series_id": reservation.series_id, "cancelled": fresh}).data
        )


class MyCalendarView(APIView):
    """The caller's private iCalendar feed of their bookings across spaces."""

    @extend_schema(
        operation_id="users_me_calendar",
        responses={200: s.CalendarFeedSerializer, 401: ERROR},
        tags=["users"],
    )
    def get(self, request: Request) -> Response:
        feed = calendar_services.member_calendar_feed_get(user=acting_user(request))
        return Response({"url": member_feed_url(feed)})


class MyCalendarResetView(APIView):
    """A new feed URL; calendars subscribed to the old one stop getting updates."""

    @extend_schema(
        operation_id="users_me_calendar_reset",
        request=None,
        responses={200: s.CalendarFeedSerializer, 401: ERROR},
        tags=["users"],
    )
    def post(self, request: Request) -> Response:
        user = acting_user(request)
        feed = calendar_services.member_calendar_feed_reset(user=user, acting_user=user)
        return Response({"url": member_feed_url(feed)})


def waitlist_url(equipment: Equipment) -> str:
    """The machine's waitlist route, where a member queues for a taken slot."""
    path = reverse(
        "makerspace-equipment-waitlist",
        kwargs={"makerspace_pk": equipment.makerspace_id, "pk": equipment.pk},
    )
    # The routes answer with or without the slash; API.md writes it.
    return path.rstrip("/") + "/"


@extend_schema_view(
    list=extend_schema(
        operation_id="users_me_waitlist",
        responses={200: s.WaitlistEntrySerializer(many=True), 401: ERROR},
        description=(
            "The caller's waitlist entries still waiting or offered, across spaces, soonest "
            "first. An offered one holds its slot for the caller until `offer_expires_at`."
        ),
        tags=["users"],
    )
)
class MyWaitlistViewSet(mixins.ListModelMixin, GenericViewSet):
    """The caller's own waitlist entries."""

    queryset = WaitlistEntry.objects.none()  # the schema's model; rows come from get_queryset
    serializer_class = s.WaitlistEntrySerializer

    def get_queryset(self) -> Any:
        return selectors.open_waitlist_entries_of_user(acting_user(self.request)).select_related(
            "user"
        )


@extend_schema_view(
    destroy=extend_schema(
        operation_id="waitlist_leave",
        responses={204: None, 404: ERROR},
        description="Leave the waitlist; a slot offered to the caller passes to the next in line.",
    )
)
class WaitlistViewSet(mixins.DestroyModelMixin, GenericViewSet):
    """A member's own waitlist entry: claim its offer or leave. Anyone else's is a 404."""

    queryset = WaitlistEntry.objects.none()  # the schema's model; rows come from get_queryset
    serializer_class = s.WaitlistEntrySerializer
    lookup_value_regex = UUID_PATTERN

    def get_queryset(self) -> Any:
        return WaitlistEntry.objects.filter(user=acting_user(self.request)).select_related(
            "equipment__makerspace", "makerspace"
        )

    def perform_destroy(self, instance: WaitlistEntry) -> None:
        waitlist_services.waitlist_leave(entry=instance, acting_user=acting_user(self.request))

    @extend_schema(
        operation_id="waitlist_claim",
        request=None,
        responses={201: s.ReservationSerializer, 403: ERROR, 404: ERROR, 409: ERROR},
        description=(
            "Book the slot offered to the caller while the offer holds. After "
            "`offer_expires_at`: 409 `OFFER_EXPIRED`; an entry never offered: 409 "
            "`NOT_OFFERED`."
        ),
    )
    @action(detail=True, methods=["post"])
    def claim(self, request: Request, pk: str) -> Response:
        user = acting_user(request)
        reservation = waitlist_services.waitlist_claim(entry=self.get_object(), acting_user=user)
        return Response(s.ReservationSerializer(reservation).data, status=status.HTTP_201_CREATED)
