from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import User
from apps.core.api.concurrency import check_if_match, etag_for
from apps.core.api.serializers import ErrorSerializer
from apps.core.permissions import has_makerspace_permission
from apps.equipment import selectors
from apps.equipment.api import serializers as s
from apps.equipment.models import (
    BookingRules,
    Equipment,
    Reservation,
    ReservationStatus,
)
from apps.equipment.rules import RULE_NAMES, rules_for, space_rules
from apps.equipment.services import equipment as equipment_services
from apps.equipment.services import maintenance as maintenance_services
from apps.equipment.services import reservations as reservation_services
from apps.makerspaces.api.permissions import (
    UUID_PATTERN,
    HasMakerspacePermission,
    MakerspaceScopedMixin,
)

ERROR = OpenApiResponse(ErrorSerializer, description="Error envelope")


def _user(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@extend_schema_view(
    list=extend_schema(
        parameters=[s.EquipmentQuerySerializer],
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
class EquipmentViewSet(MakerspaceScopedMixin):
    """The machines of a makerspace, with live availability and 30-day utilization."""

    queryset = Equipment.objects.none()  # the schema's model; rows come from get_queryset
    serializer_class = s.EquipmentSerializer
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
    }

    def get_required_permission(self) -> str:
        if self.action == "maintenance" and self.request.method == "POST":
            return "equipment.maintain"
        if self.action == "rules" and self.request.method in ("PATCH", "PUT"):
            return "equipment.update"
        return super().get_required_permission()

    def get_queryset(self) -> Any:
        return selectors.equipment_of_space(self.get_makerspace())

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if getattr(self, "swagger_fake_view", False):
            return context
        makerspace = self.get_makerspace()
        now = timezone.now()
        context["open_seconds"] = {
            makerspace.pk: selectors.open_seconds(
                makerspace, now - timedelta(days=selectors.UTILIZATION_DAYS), now
            )
        }
        return context

    def list(self, request: Request, makerspace_pk: str) -> Response:
        query = s.EquipmentQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        machines = selectors.equipment_of_space(
            self.get_makerspace(),
            status=query.validated_data.get("status"),
            equipment_type=query.validated_data.get("type"),
        )
        page = self.paginate_queryset(machines)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        equipment = self.get_object()
        return Response(self.get_serializer(equipment).data, headers={"ETag": etag_for(equipment)})

    def create(self, request: Request, makerspace_pk: str) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        skills = fields.pop("skill_requirements", None)
        equipment = equipment_services.equipment_create(
            makerspace=self.get_makerspace(),
            acting_user=_user(request),
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
        with transaction.atomic():
            locked = Equipment.objects.select_for_update(of=("self",)).get(pk=equipment.pk)
            check_if_match(request, locked)
            equipment_services.equipment_update(
                equipment=locked, acting_user=_user(request), changes=fields, skill_slugs=skills
            )
        fresh = self.get_queryset().get(pk=equipment.pk)
        return Response(self.get_serializer(fresh).data, headers={"ETag": etag_for(fresh)})

    def partial_update(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        return self.update(request, makerspace_pk, pk, partial=True)

    def destroy(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        equipment_services.equipment_delete(equipment=self.get_object(), acting_user=_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[s.WindowQuerySerializer],
        responses={200: s.EquipmentSerializer(many=True), 400: ERROR},
    )
    @action(detail=False, methods=["get"])
    def available(self, request: Request, makerspace_pk: str) -> Response:
        """Machines the caller may book from `start` to `end`: available, trained, free."""
        query = s.WindowQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        machines = selectors.bookable_equipment(
            makerspace=self.get_makerspace(),
            user=_user(request),
            start=query.validated_data["start"],
            end=query.validated_data["end"],
        )
        page = self.paginate_queryset(machines)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        methods=["GET"], responses={200: s.MaintenanceLogSerializer(many=True), 404: ERROR}
    )
    @extend_schema(
        methods=["POST"],
        request=s.MaintenanceLogSerializer,
        responses={201: s.MaintenanceLogSerializer, 400: ERROR, 403: ERROR},
    )
    @action(detail=True, methods=["get", "post"], serializer_class=s.MaintenanceLogSerializer)
    def maintenance(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        """The machine's maintenance log; staff add entries (a routine one resets the counter)."""
        equipment = self.get_object()
        if request.method == "POST":
            body = s.MaintenanceLogSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            log = maintenance_services.maintenance_log_add(
                equipment=equipment, acting_user=_user(request), **body.validated_data
            )
            return Response(s.MaintenanceLogSerializer(log).data, status=status.HTTP_201_CREATED)
        logs = equipment.maintenance_logs.select_related("performed_by").order_by("-performed_at")
        page = self.paginate_queryset(logs)
        return self.get_paginated_response(s.MaintenanceLogSerializer(page, many=True).data)

    @extend_schema(methods=["GET"], responses={200: s.EquipmentRulesSerializer, 404: ERROR})
    @extend_schema(
        methods=["PATCH"],
        request=s.EquipmentRulesSerializer,
        responses={200: s.EquipmentRulesSerializer, 400: ERROR, 403: ERROR},
    )
    @action(detail=True, methods=["get", "patch"], serializer_class=s.EquipmentRulesSerializer)
    def rules(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        """The machine's booking rules as they apply (PATCH sets overrides; null = space's)."""
        equipment = self.get_object()
        if request.method == "PATCH":
            body = s.EquipmentRulesSerializer(data=request.data, partial=True)
            body.is_valid(raise_exception=True)
            equipment_services.equipment_rules_update(
                equipment=equipment, acting_user=_user(request), changes=dict(body.validated_data)
            )
        effective = rules_for(equipment)
        return Response({name: getattr(effective, name) for name in RULE_NAMES})


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
            acting_user=_user(request),
            changes=dict(body.validated_data),
        )
        return self._current()


@extend_schema_view(
    list=extend_schema(
        parameters=[s.ReservationQuerySerializer],
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
    ),
)
class ReservationViewSet(MakerspaceScopedMixin):
    """Bookings of the space's machines."""

    queryset = Reservation.objects.none()  # the schema's model
    serializer_class = s.ReservationSerializer
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
    }

    def _is_staff(self) -> bool:
        return has_makerspace_permission(
            self.request.user, self.get_makerspace(), "reservations.manage"
        )

    def get_queryset(self) -> Any:
        makerspace = self.get_makerspace()
        # Members see their own bookings only; another member's is a 404 to them.
        user = None if self._is_staff() else _user(self.request)
        return selectors.reservations_of_space(makerspace, user=user)

    def list(self, request: Request, makerspace_pk: str) -> Response:
        query = s.ReservationQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        reservations = self.get_queryset()
        if filters.get("mine"):
            reservations = reservations.filter(user=_user(request))
        if filters.get("status"):
            wanted = filters["status"].split(",")
            unknown = set(wanted) - set(ReservationStatus.values)
            if unknown:
                raise ValidationError(
                    {"status": [f"Unknown status: {', '.join(sorted(unknown))}."]}
                )
            reservations = reservations.filter(status__in=wanted)
        if filters.get("equipment"):
            reservations = reservations.filter(equipment_id=filters["equipment"])
        if filters.get("start"):
            reservations = reservations.filter(end_time__gt=filters["start"])
        if filters.get("end"):
            reservations = reservations.filter(start_time__lt=filters["end"])
        page = self.paginate_queryset(reservations)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def create(self, request: Request, makerspace_pk: str) -> Response:
        body = s.ReservationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        equipment = (
            Equipment.objects.filter(
                makerspace=self.get_makerspace(), pk=body.validated_data["equipment"]
            )
            .select_related("makerspace")
            .first()
        )
        if equipment is None:
            raise ValidationError({"equipment": ["No such machine in this makerspace."]})
        reservation = reservation_services.reservation_create(
            equipment=equipment,
            user=_user(request),
            start=body.validated_data["start_time"],
            end=body.validated_data["end_time"],
            notes=body.validated_data["notes"],
            acting_user=_user(request),
        )
        return Response(self.get_serializer(reservation).data, status=status.HTTP_201_CREATED)

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
            acting_user=_user(request),
            reason=body.validated_data["reason"],
        )
        return Response(self.get_serializer(reservation).data)

    @extend_schema(request=None, responses={200: s.ReservationSerializer, 403: ERROR, 409: ERROR})
    @action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        reservation = reservation_services.reservation_check_in(
            reservation=self.get_object(), acting_user=_user(request)
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
        reservation = reservation_services.reservation_check_out(
            reservation=self.get_object(),
            acting_user=_user(request),
            notes=body.validated_data["notes"],
        )
        return Response(self.get_serializer(reservation).data)

    @extend_schema(request=None, responses={200: s.ReservationSerializer, 403: ERROR, 409: ERROR})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        reservation = reservation_services.reservation_decide(
            reservation=self.get_object(), acting_user=_user(request), approve=True
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
            acting_user=_user(request),
            approve=False,
            reason=body.validated_data["reason"],
        )
        return Response(self.get_serializer(reservation).data)
