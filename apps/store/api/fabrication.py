"""The fabrication (3D-print) API, under ``/api/v1/store/fabrication/``.

A member uploads a model with a material and a quantity (multipart) and gets a
quote (``quote``: nothing stored) or a quoted job; accepts the job into a store
order and pays it as any store order; follows its status. The makerspace's staff
list the space's jobs and move them (``status``). Jobs a caller may not see answer
404. Every write calls one service in ``apps.store.services.fabrication``, which
checks the caller again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.actors import acting_user
from apps.core.api.lean import decimal_text, iso_datetime
from apps.core.api.schema import ERROR_RESPONSE
from apps.core.api.serializers import JSONObjectField, StrictFieldsMixin
from apps.core.exceptions import ApplicationError, validation_error
from apps.makerspaces.api.permissions import UUID_PATTERN
from apps.makerspaces.models import Makerspace
from apps.store import fabrication_selectors as selectors
from apps.store import mesh
from apps.store.models import (
    FabricationJob,
    FabricationMaterial,
    FabricationStatus,
    ShippingMethod,
)
from apps.store.services import fabrication as services

# Room for a multipart body's boundaries and small fields around the file itself.
MULTIPART_ALLOWANCE = 64 * 1024
MONEY_PLACES = 2
VOLUME_PLACES = 3
SIZE_PLACES = 2
PRICE_PER_CM3_PLACES = 4


# --- shapes ------------------------------------------------------------------------------


class MaterialSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    printer_name = serializers.CharField()


class BoundingBoxSerializer(serializers.Serializer):
    x = serializers.DecimalField(max_digits=9, decimal_places=SIZE_PLACES)
    y = serializers.DecimalField(max_digits=9, decimal_places=SIZE_PLACES)
    z = serializers.DecimalField(max_digits=9, decimal_places=SIZE_PLACES)


class JobOrderSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    order_number = serializers.CharField()
    status = serializers.CharField()
    payment_status = serializers.CharField()
    total_amount = serializers.DecimalField(max_digits=12, decimal_places=MONEY_PLACES)


class FabricationJobSerializer(serializers.Serializer):
    """A 3D-print job (read-only shape)."""

    id = serializers.UUIDField()
    makerspace = serializers.UUIDField()
    user = serializers.DictField(child=serializers.CharField())
    material = MaterialSummarySerializer()
    original_filename = serializers.CharField()
    quantity = serializers.IntegerField()
    volume_cm3 = serializers.DecimalField(max_digits=12, decimal_places=VOLUME_PLACES)
    bounding_box_mm = BoundingBoxSerializer()
    fits_printer = serializers.BooleanField()
    unit_price = serializers.DecimalField(max_digits=10, decimal_places=MONEY_PLACES)
    setup_fee = serializers.DecimalField(max_digits=10, decimal_places=MONEY_PLACES)
    quote_amount = serializers.DecimalField(max_digits=12, decimal_places=MONEY_PLACES)
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=FabricationStatus.choices)
    notes = serializers.CharField()
    order = JobOrderSerializer(allow_null=True)
    tracking_number = serializers.CharField()
    allowed_moves = serializers.ListField(
        child=serializers.ChoiceField(choices=FabricationStatus.choices),
        help_text="The states the caller may move this job to now.",
    )
    created_at = serializers.DateTimeField()


class QuoteSerializer(serializers.Serializer):
    """A quote for an uploaded model; nothing is stored."""

    makerspace = serializers.UUIDField()
    material = MaterialSummarySerializer()
    original_filename = serializers.CharField()
    quantity = serializers.IntegerField()
    volume_cm3 = serializers.DecimalField(max_digits=12, decimal_places=VOLUME_PLACES)
    bounding_box_mm = BoundingBoxSerializer()
    fits_printer = serializers.BooleanField()
    unit_price = serializers.DecimalField(max_digits=10, decimal_places=MONEY_PLACES)
    setup_fee = serializers.DecimalField(max_digits=10, decimal_places=MONEY_PLACES)
    quote_amount = serializers.DecimalField(max_digits=12, decimal_places=MONEY_PLACES)
    currency = serializers.CharField()


class MaterialSerializer(serializers.Serializer):
    """A line of a makerspace's 3D-print price list."""

    id = serializers.UUIDField()
    makerspace = serializers.UUIDField()
    name = serializers.CharField()
    printer_name = serializers.CharField()
    price_per_cm3 = serializers.DecimalField(max_digits=8, decimal_places=PRICE_PER_CM3_PLACES)
    setup_fee = serializers.DecimalField(max_digits=8, decimal_places=MONEY_PLACES)
    currency = serializers.CharField()
    build_volume_mm = BoundingBoxSerializer()


class UploadSerializer(StrictFieldsMixin, serializers.Serializer):
    # An empty file is the model checks' to refuse (MODEL_EMPTY), like any other.
    file = serializers.FileField(
        allow_empty_file=True, help_text="An STL (binary or ASCII) or 3MF model, in mm."
    )
    makerspace = serializers.UUIDField()
    material = serializers.UUIDField(help_text="A line of the makerspace's price list.")
    quantity = serializers.IntegerField(min_value=1, max_value=services.MAX_QUANTITY, default=1)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AcceptSerializer(StrictFieldsMixin, serializers.Serializer):
    shipping_method = serializers.ChoiceField(
        choices=[ShippingMethod.PICKUP, ShippingMethod.SHIPPING], default=ShippingMethod.PICKUP
    )
    shipping_address = JSONObjectField(
        required=False,
        allow_null=True,
        help_text="Needed to ship: name, line1, city, postal_code, country (ISO 3166 "
        "alpha-2); line2, region, phone optional, as at checkout.",
    )
    billing_address = JSONObjectField(
        required=False, allow_null=True, help_text="The shipping address unless given."
    )


class PaymentAnswerSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    provider = serializers.CharField()
    status = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=MONEY_PLACES)
    currency = serializers.CharField()
    client_secret = serializers.CharField(allow_null=True)
    pay_url = serializers.CharField(allow_null=True)


class AcceptedSerializer(serializers.Serializer):
    job = FabricationJobSerializer()
    order = JobOrderSerializer()
    payment = PaymentAnswerSerializer()


class StatusChangeSerializer(StrictFieldsMixin, serializers.Serializer):
    to = serializers.ChoiceField(
        choices=[
            FabricationStatus.ACCEPTED,
            FabricationStatus.PRINTING,
            FabricationStatus.READY,
            FabricationStatus.SHIPPED,
            FabricationStatus.PICKED_UP,
            FabricationStatus.CANCELLED,
        ]
    )
    tracking_number = serializers.CharField(max_length=100, required=False, allow_blank=True)


# --- presenters: the shapes above, built by plain functions --------------------------------


def _box(x: Any, y: Any, z: Any) -> dict[str, str | None]:
    return {
        "x": decimal_text(x, SIZE_PLACES),
        "y": decimal_text(y, SIZE_PLACES),
        "z": decimal_text(z, SIZE_PLACES),
    }


def _material(material: FabricationMaterial) -> dict[str, Any]:
    return {"id": str(material.pk), "name": material.name, "printer_name": material.printer_name}


def order_summary(order: Any) -> dict[str, Any] | None:
    if order is None:
        return None
    return {
        "id": str(order.pk),
        "order_number": order.order_number,
        "status": order.status,
        "payment_status": order.payment_status,
        "total_amount": decimal_text(order.total_amount, MONEY_PLACES),
    }


def job_row(job: FabricationJob, viewer: Any) -> dict[str, Any]:
    return {
        "id": str(job.pk),
        "makerspace": str(job.makerspace_id),
        "user": {"id": str(job.user_id), "name": job.user.name},
        "material": _material(job.material),
        "original_filename": job.original_filename,
        "quantity": job.quantity,
        "volume_cm3": decimal_text(job.volume_cm3, VOLUME_PLACES),
        "bounding_box_mm": _box(job.size_x_mm, job.size_y_mm, job.size_z_mm),
        "fits_printer": job.fits_printer,
        "unit_price": decimal_text(job.unit_price, MONEY_PLACES),
        "setup_fee": decimal_text(job.setup_fee, MONEY_PLACES),
        "quote_amount": decimal_text(job.quote_amount, MONEY_PLACES),
        "currency": job.currency,
        "status": job.status,
        "notes": job.notes,
        "order": order_summary(selectors.order_of(job)),
        "tracking_number": job.tracking_number,
        "allowed_moves": services.allowed_moves(job, viewer),
        "created_at": iso_datetime(job.created_at),
    }


def quote_row(quote: services.FabricationQuote, filename: str) -> dict[str, Any]:
    measure = quote.measure
    return {
        "makerspace": str(quote.material.makerspace_id),
        "material": _material(quote.material),
        "original_filename": services.display_filename(filename),
        "quantity": quote.quantity,
        "volume_cm3": decimal_text(measure.volume_cm3, VOLUME_PLACES),
        "bounding_box_mm": _box(*measure.size_mm),
        "fits_printer": quote.fits_printer,
        "unit_price": decimal_text(quote.unit_price, MONEY_PLACES),
        "setup_fee": decimal_text(quote.setup_fee, MONEY_PLACES),
        "quote_amount": decimal_text(quote.quote_amount, MONEY_PLACES),
        "currency": quote.currency,
    }


def material_row(material: FabricationMaterial) -> dict[str, Any]:
    return {
        "id": str(material.pk),
        "makerspace": str(material.makerspace_id),
        "name": material.name,
        "printer_name": material.printer_name,
        "price_per_cm3": decimal_text(material.price_per_cm3, PRICE_PER_CM3_PLACES),
        "setup_fee": decimal_text(material.setup_fee, MONEY_PLACES),
        "currency": material.currency,
        "build_volume_mm": _box(material.build_x_mm, material.build_y_mm, material.build_z_mm),
    }


# --- reading an upload ---------------------------------------------------------------------


def _refuse_oversized_body(request: Request) -> None:
    """Refused on the declared length, before the body is parsed and the file read."""
    limit = mesh.max_upload_bytes()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit + MULTIPART_ALLOWANCE:
        raise mesh.too_large(limit)


def _one(model: Any, pk: Any, field: str, label: str, **scope: Any) -> Any:
    try:
        found = model.objects.filter(pk=pk, **scope).first()
    except (DjangoValidationError, ValueError, TypeError):
        found = None
    if found is None:
        raise validation_error(field, f"No such {label}.")
    return found


def _uuid_param(params: Mapping[str, Any], name: str) -> uuid.UUID | None:
    value = params.get(name)
    if value is None:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise validation_error(name, "An id (UUID).") from None


def parse_upload(request: Request) -> dict[str, Any]:
    """The checked multipart fields of an upload, with the model file's bytes."""
    _refuse_oversized_body(request)
    body = UploadSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    fields = body.validated_data
    makerspace = _one(Makerspace, fields["makerspace"], "makerspace", "makerspace", is_active=True)
    if not selectors.may_order(request.user, makerspace):
        raise PermissionDenied("Join this makerspace to order prints from it.")
    material = _one(
        FabricationMaterial,
        fields["material"],
        "material",
        "material on this makerspace's price list",
        makerspace=makerspace,
        is_active=True,
    )
    upload = fields["file"]
    return {
        "makerspace": makerspace,
        "material": material,
        "filename": str(upload.name or ""),
        "data": mesh.read_upload(upload),
        "quantity": fields["quantity"],
        "notes": fields.get("notes", ""),
    }


# --- the viewset ---------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=FabricationStatus.values),
            OpenApiParameter("makerspace", OpenApiTypes.UUID),
        ],
        responses={200: FabricationJobSerializer(many=True)},
    ),
    retrieve=extend_schema(responses={200: FabricationJobSerializer, 404: ERROR_RESPONSE}),
    create=extend_schema(
        request={"multipart/form-data": UploadSerializer},
        responses={201: FabricationJobSerializer, 400: ERROR_RESPONSE, 403: ERROR_RESPONSE},
    ),
)
class FabricationJobViewSet(viewsets.GenericViewSet):
    """3D-print jobs. A member sees their own jobs; a makerspace's staff its jobs; a
    super admin all. Upload a model (`multipart/form-data`: `file`, `makerspace`,
    `material`, `quantity`, `notes`) to get a quoted job; models that are broken
    (`MODEL_UNREADABLE`), empty (`MODEL_EMPTY`), open (`MODEL_NOT_WATERTIGHT`), too
    large (`MODEL_TOO_LARGE`), not STL/3MF (`MODEL_TYPE`) or too big for the printer
    (`MODEL_DOES_NOT_FIT`) answer 400."""

    queryset = FabricationJob.objects.none()  # the schema's model
    serializer_class = FabricationJobSerializer
    lookup_value_regex = UUID_PATTERN
    filterset_class = None
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> Any:
        return selectors.jobs_visible_to(self.request.user)

    def get_parsers(self) -> list[Any]:
        # Parsers are chosen before DRF names the action, so read it from the route.
        request = getattr(self, "request", None)
        action_map = getattr(self, "action_map", None) or {}
        if request is not None and action_map.get(str(request.method).lower()) == "create":
            return [MultiPartParser(), FormParser()]
        return super().get_parsers()

    def _job(self, pk: str) -> FabricationJob:
        job = self.get_queryset().filter(pk=pk).first()
        if job is None:
            raise Http404
        return job

    def _filtered(self, jobs: Any, params: Mapping[str, Any]) -> Any:
        wanted = params.get("status")
        if wanted is not None:
            # Given empty, too, it is a 400: the schema allows no empty value there.
            if wanted not in FabricationStatus.values:
                raise validation_error("status", f"One of {', '.join(FabricationStatus.values)}.")
            jobs = jobs.filter(status=wanted)
        space = _uuid_param(params, "makerspace")
        if space is not None:
            jobs = jobs.filter(makerspace_id=space)
        return jobs

    def list(self, request: Request) -> Response:
        jobs = self._filtered(self.get_queryset(), request.query_params)
        page = self.paginate_queryset(jobs)
        assert page is not None
        return self.get_paginated_response([job_row(job, request.user) for job in page])

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(job_row(self._job(pk), request.user))

    def create(self, request: Request) -> Response:
        upload = parse_upload(request)
        job = services.fabrication_job_create(acting_user=acting_user(request), **upload)
        job = self._job(str(job.pk))
        return Response(job_row(job, request.user), status=status.HTTP_201_CREATED)

    @extend_schema(
        request={"multipart/form-data": UploadSerializer},
        responses={200: QuoteSerializer, 400: ERROR_RESPONSE, 403: ERROR_RESPONSE},
    )
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def quote(self, request: Request) -> Response:
        """What printing the model would cost, from the makerspace's price list;
        nothing is stored (the upload page's live quote)."""
        upload = parse_upload(request)
        upload.pop("notes")
        filename = upload["filename"]
        quote = services.fabrication_quote(acting_user=acting_user(request), **upload)
        return Response(quote_row(quote, filename))

    @extend_schema(
        parameters=[OpenApiParameter("makerspace", OpenApiTypes.UUID)],
        responses={200: MaterialSerializer(many=True)},
    )
    @action(detail=False, methods=["get"])
    def materials(self, request: Request) -> Response:
        """The price lists the caller may order from (of one makerspace with
        `?makerspace=`)."""
        materials = selectors.orderable_materials(request.user)
        space = _uuid_param(request.query_params, "makerspace")
        if space is not None:
            materials = materials.filter(makerspace_id=space)
        page = self.paginate_queryset(materials)
        assert page is not None
        return self.get_paginated_response([material_row(material) for material in page])

    @extend_schema(
        request=AcceptSerializer,
        responses={201: AcceptedSerializer, 404: ERROR_RESPONSE, 409: ERROR_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str) -> Response:
        """The member accepts the quote: a store order with this job as its line and its
        payment (`payment.client_secret` for Stripe, or a test-mode `pay_url`); the job
        is `ordered` until paid."""
        job = self._job(pk)
        if job.user_id != request.user.pk:
            raise PermissionDenied("Only the member who asked for the quote accepts it.")
        body = AcceptSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = body.validated_data
        accepted = services.fabrication_job_accept(
            job=job,
            acting_user=acting_user(request),
            shipping_method=fields["shipping_method"],
            shipping_address=fields.get("shipping_address"),
            billing_address=fields.get("billing_address"),
        )
        job = self._job(pk)
        return Response(
            {
                "job": job_row(job, request.user),
                "order": order_summary(accepted.order),
                "payment": accepted.payment_answer,
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=StatusChangeSerializer,
        responses={
            200: FabricationJobSerializer,
            403: ERROR_RESPONSE,
            404: ERROR_RESPONSE,
            409: ERROR_RESPONSE,
        },
    )
    @action(detail=True, methods=["post"], url_path="status")
    def change_status(self, request: Request, pk: str) -> Response:
        """Move the job: staff to `accepted` (once paid, else 409 `NOT_PAID`),
        `printing`, `ready`, `shipped` (with `tracking_number`) or `picked_up`, and
        `cancelled`; the member may cancel while the job is quoted or unpaid. An
        illegal move answers 409 `INVALID_STATE` with `details.current`."""
        job = self._job(pk)
        body = StatusChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        job = services.fabrication_job_transition(
            job=job,
            to=body.validated_data["to"],
            tracking_number=body.validated_data.get("tracking_number", ""),
            acting_user=acting_user(request),
        )
        return Response(job_row(self._job(pk), request.user))

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The model file as uploaded."
            ),
            404: ERROR_RESPONSE,
        },
    )
    @action(detail=True, methods=["get"])
    def model(self, request: Request, pk: str) -> FileResponse:
        """The uploaded model file, for its member and the makerspace's staff."""
        job = self._job(pk)
        try:
            handle = job.model_file.open("rb")
        except (FileNotFoundError, OSError):
            raise ApplicationError(
                "NOT_FOUND", "The model file is missing from the storage.", status_code=404
            ) from None
        return FileResponse(
            handle,
            as_attachment=True,
            filename=job.original_filename,
            content_type="application/octet-stream",
        )
