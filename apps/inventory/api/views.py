import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from apps.core.api.actors import acting_user, in_space_or_400
from apps.core.api.concurrency import etag_for, if_match
from apps.core.api.filters import FilteredListsMixin
from apps.core.api.keyset import Keyset, KeysetPagination
from apps.core.api.parsers import BoundedJSONParser, CSVFileParser
from apps.core.api.serializers import ErrorSerializer
from apps.inventory import csv_io, selectors, services
from apps.inventory.api import presenters
from apps.inventory.api import serializers as s
from apps.inventory.api.filters import InventoryFilter, MovementFilter, PurchaseOrderFilter
from apps.inventory.models import InventoryItem, PurchaseOrder, StockMovement
from apps.makerspaces.api.permissions import (
    UUID_PATTERN,
    HasMakerspacePermission,
    MakerspaceScopedMixin,
)

ERROR = OpenApiResponse(ErrorSerializer, description="Error envelope")
# A multipart body carries the file plus its boundaries and part headers.
MULTIPART_ALLOWANCE = 64 * 1024
CSV_RESPONSE = OpenApiResponse(OpenApiTypes.STR, description="text/csv")


class CSVFormatNegotiation(DefaultContentNegotiation):
    """`?format=csv` asks a view for its CSV download, which the view builds itself.

    DRF would otherwise read `format` as a renderer choice and answer 404, since no
    renderer produces CSV; errors stay in the JSON envelope.
    """

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        if (
            not format_suffix
            and request.query_params.get(api_settings.URL_FORMAT_OVERRIDE) == "csv"
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)


def _csv_response(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _stock_result(item: InventoryItem, movement: StockMovement | None) -> Response:
    # The balance this change left, not a re-read that may already include later changes.
    if movement is not None:
        new_stock = movement.balance_after
    else:
        item.refresh_from_db(fields=["current_stock"])
        new_stock = item.current_stock
    result = {
        "success": True,
        "new_stock": new_stock,
        "movement": movement.pk if movement else None,
    }
    return Response(s.StockResultSerializer(result).data)


@extend_schema_view(
    list=extend_schema(
        responses={200: s.item_for_caller(many=True), 400: ERROR, 404: ERROR},
        description="Staff get the staff shape; members get items without supplier and cost.",
    ),
    retrieve=extend_schema(
        responses={200: s.item_for_caller(), 404: ERROR},
        description="Staff get the staff shape; members get the item without supplier and cost.",
    ),
    create=extend_schema(responses={201: s.InventoryItemSerializer, 400: ERROR, 403: ERROR}),
    partial_update=extend_schema(
        responses={200: s.InventoryItemSerializer, 400: ERROR, 403: ERROR, 412: ERROR}
    ),
    update=extend_schema(
        responses={200: s.InventoryItemSerializer, 400: ERROR, 403: ERROR, 412: ERROR}
    ),
    destroy=extend_schema(responses={204: None, 403: ERROR}),
)
class InventoryViewSet(mixins.ListModelMixin, FilteredListsMixin, MakerspaceScopedMixin):
    """A space's stock. Stock changes only through deduct, restock and adjust, each of
    which writes the ledger."""

    # PUT/PATCH take If-Match and may answer 412 (declared in the schema).
    optimistic_locking = True

    queryset = InventoryItem.objects.none()  # the schema's model; rows come from get_queryset
    serializer_class = s.InventoryItemSerializer
    # The ledger's order, which its cursors resume (``movements``).
    keyset = Keyset(selectors.LEDGER_ORDER, salt="inventory.ledger")
    ledger_length: int | None = None
    permission_classes = [HasMakerspacePermission]
    lookup_value_regex = UUID_PATTERN
    # JSON bodies everywhere; the CSV import alone takes a file (its own parsers).
    parser_classes = [BoundedJSONParser]
    content_negotiation_class = CSVFormatNegotiation
    filterset_class = InventoryFilter
    required_permissions = {
        "list": "inventory.view",
        "retrieve": "inventory.view",
        "create": "inventory.create",
        "update": "inventory.update",
        "partial_update": "inventory.update",
        "destroy": "inventory.delete",
        "deduct": "inventory.deduct",
        "restock": "inventory.restock",
        "adjust": "inventory.adjust",
        "movements": "inventory.view",
        "export": "inventory.view",
        "import_csv": "inventory.create",
        "reorder_suggestions": selectors.PURCHASING_PERMISSION,
    }

    def get_queryset(self) -> Any:
        return selectors.items_of_space(self.get_makerspace())

    def sees_purchasing(self) -> bool:
        if getattr(self, "swagger_fake_view", False):
            return True  # the schema documents the staff shape of requests
        return selectors.sees_purchasing(self.request.user, self.get_makerspace())

    def get_serializer_class(self) -> Any:
        if self.serializer_class is s.InventoryItemSerializer and not self.sees_purchasing():
            return s.MemberInventoryItemSerializer
        return super().get_serializer_class()

    def retrieve(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        # Not the mixin's: the answer carries the ETag that a later update sends back.
        item = self.get_object()
        return Response(self.get_serializer(item).data, headers={"ETag": etag_for(item)})

    def create(self, request: Request, makerspace_pk: str) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        opening = fields.pop("current_stock", None)
        item = services.item_create(
            makerspace=self.get_makerspace(),
            acting_user=acting_user(request),
            opening_stock=opening or Decimal("0"),
            **fields,
        )
        return Response(
            self.get_serializer(self.get_queryset().get(pk=item.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    def update(
        self, request: Request, makerspace_pk: str, pk: str, partial: bool = False
    ) -> Response:
        item = self.get_object()
        body = self.get_serializer(item, data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        services.item_update(
            item=item,
            acting_user=acting_user(request),
            changes=dict(body.validated_data),
            expected_etag=if_match(request),
        )
        fresh = self.get_queryset().get(pk=item.pk)
        return Response(self.get_serializer(fresh).data, headers={"ETag": etag_for(fresh)})

    def partial_update(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        return self.update(request, makerspace_pk, pk, partial=True)

    def destroy(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        services.item_delete(item=self.get_object(), acting_user=acting_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=s.DeductSerializer,
        responses={200: s.StockResultSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    @action(detail=True, methods=["post"])
    def deduct(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        """Take stock out; too little in stock answers 400 INSUFFICIENT_STOCK and writes nothing."""
        item = self.get_object()
        body = s.DeductSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        movement = services.stock_deduct(
            item=item,
            quantity=body.validated_data["quantity"],
            reason=body.validated_data["reason"],
            job_id=body.validated_data["job_id"],
            project_id=body.validated_data["project"],
            acting_user=acting_user(request),
        )
        return _stock_result(item, movement)

    @extend_schema(
        request=s.RestockSerializer,
        responses={200: s.StockResultSerializer, 400: ERROR, 403: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["post"])
    def restock(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        item = self.get_object()
        body = s.RestockSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = None
        if body.validated_data["purchase_order"]:
            order = in_space_or_400(
                PurchaseOrder.objects.all(),
                pk=body.validated_data["purchase_order"],
                makerspace_id=self.get_makerspace().pk,
                field="purchase_order",
                label="purchase order",
                space_field="item__makerspace_id",
            )
        movement = services.stock_restock(
            item=item,
            quantity=body.validated_data["quantity"],
            note=body.validated_data["note"],
            unit_cost=body.validated_data.get("unit_cost"),
            purchase_order=order,
            acting_user=acting_user(request),
        )
        return _stock_result(item, movement)

    @extend_schema(
        request=s.AdjustSerializer,
        responses={200: s.StockResultSerializer, 400: ERROR, 403: ERROR},
    )
    @action(detail=True, methods=["post"])
    def adjust(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        """A stock count: records the difference with its reason."""
        item = self.get_object()
        body = s.AdjustSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        movement = services.stock_adjust(
            item=item,
            new_stock=body.validated_data["new_stock"],
            reason=body.validated_data["reason"],
            acting_user=acting_user(request),
        )
        return _stock_result(item, movement)

    @extend_schema(
        responses={200: s.movement_for_caller(many=True), 400: ERROR, 404: ERROR},
    )
    @action(
        detail=True,
        methods=["get"],
        serializer_class=s.MovementSerializer,
        filterset_class=MovementFilter,
        pagination_class=KeysetPagination,
    )
    def movements(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        """The item's ledger, newest first; filter by `kind` (comma-separated), `since`, `until`.

        Page by `page` and `limit`, or by `cursor`: each page's `meta.next_cursor` (null on
        the last page) is the `cursor` of the next one, however long the ledger. A page
        request answers `meta.total` and `meta.page` as well; a cursor request answers
        `limit`, `has_next` and `next_cursor` only.

        Members see quantities, reasons and dates; who moved the stock, the unit cost and
        the purchase order are for staff."""
        # Which item, and how long its ledger is: no more of the item is needed.
        item = get_object_or_404(selectors.ledger_items(self.get_makerspace()), pk=pk)
        self.check_object_permissions(request, item)
        self.ledger_length = item.movement_count
        makerspace = self.get_makerspace()
        staff = selectors.sees_who(request.user, makerspace) and selectors.sees_purchasing(
            request.user, makerspace
        )
        rows = selectors.ledger_rows(item, staff=staff)
        if self._ledger_filtered():
            rows = self.filter_queryset(rows)
        page = self.paginate_queryset(rows)
        assert page is not None  # the action's KeysetPagination pages every request
        present = presenters.movement_row if staff else presenters.member_movement_row
        return self.get_paginated_response([present(row) for row in page])

    def _ledger_filtered(self) -> bool:
        # A filter given empty filters nothing (django-filter skips it).
        return any(self.request.query_params.get(name) for name in MovementFilter.base_filters)

    def numbered_total(self, rows: Any) -> int | None:
        """For ``KeysetPagination``: the ledger's positions run 1 to its length without
        gaps, so its pages are ranges of positions; a filter leaves some out."""
        return None if self._ledger_filtered() else self.ledger_length

    @extend_schema(responses={200: CSV_RESPONSE, 404: ERROR})
    @action(detail=False, methods=["get"])
    def export(self, request: Request, makerspace_pk: str) -> HttpResponse:
        """All active items as CSV (the import's columns; members get them without supplier
        and unit cost)."""
        makerspace = self.get_makerspace()
        columns = csv_io.COLUMNS if self.sees_purchasing() else csv_io.MEMBER_COLUMNS
        return _csv_response(
            csv_io.export_csv(selectors.items_of_space(makerspace), columns=columns),
            f"inventory-{makerspace.slug}.csv",
        )

    @extend_schema(
        request=s.IMPORT_REQUEST,
        parameters=[OpenApiParameter("dry_run", bool, description="Check only; write nothing.")],
        responses={
            200: s.ImportReportSerializer,
            400: s.ImportRefusalSerializer,
            403: ERROR,
            413: ERROR,
        },
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, CSVFileParser],
    )
    def import_csv(self, request: Request, makerspace_pk: str) -> Response:
        """Create or update items by SKU from a CSV file. Any bad row: nothing is written,
        and the report lists every row's errors. A file over the size limit answers 413
        and a file that is not CSV text (empty, no rows, unknown columns) 400."""
        limit = csv_io.max_import_bytes()
        # Refused on the declared length, before the body is parsed and the file read.
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit + MULTIPART_ALLOWANCE:
            raise csv_io.too_large(limit)
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": ["Upload a CSV file in the `file` field."]})
        text = csv_io.read_upload(upload, limit=limit)
        dry_run = request.query_params.get("dry_run", "").lower() in ("1", "true", "yes")
        report = csv_io.import_csv(
            makerspace=self.get_makerspace(),
            text=text,
            acting_user=acting_user(request),
            dry_run=dry_run,
        )
        return Response(
            report.as_dict(),
            status=status.HTTP_200_OK if report.ok else status.HTTP_400_BAD_REQUEST,
        )

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["json", "csv"])],
        responses={
            (200, "application/json"): s.SuggestionSerializer(many=True),
            (200, "text/csv"): CSV_RESPONSE,
            404: ERROR,
        },
    )
    @action(detail=False, methods=["get"], url_path="reorder-suggestions", filterset_class=None)
    def reorder_suggestions(self, request: Request, makerspace_pk: str) -> Any:
        """Low items and how much to order: up to the reorder quantity, less what is on order."""
        suggestions = selectors.reorder_suggestions(self.get_makerspace())
        if request.query_params.get("format") == "csv":
            rows = s.SuggestionSerializer(suggestions, many=True).data
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=list(s.SuggestionSerializer().fields))
            writer.writeheader()
            writer.writerows(rows)
            return _csv_response(buffer.getvalue(), "reorder-suggestions.csv")
        page = self.paginate_queryset(suggestions)
        return self.get_paginated_response(s.SuggestionSerializer(page, many=True).data)


@extend_schema_view(
    list=extend_schema(responses={200: s.PurchaseOrderSerializer(many=True), 404: ERROR}),
    create=extend_schema(responses={201: s.PurchaseOrderSerializer, 400: ERROR, 403: ERROR}),
)
class PurchaseOrderViewSet(mixins.ListModelMixin, FilteredListsMixin, MakerspaceScopedMixin):
    """What a space has ordered; restocking with `purchase_order` receives an order."""

    queryset = PurchaseOrder.objects.none()  # the schema's model
    serializer_class = s.PurchaseOrderSerializer
    permission_classes = [HasMakerspacePermission]
    lookup_value_regex = UUID_PATTERN
    filterset_class = PurchaseOrderFilter
    # What a space orders, from whom, is for the people who buy: members see stock only.
    required_permissions = {
        "list": selectors.PURCHASING_PERMISSION,
        "create": "inventory.restock",
        "cancel": "inventory.restock",
    }

    def get_queryset(self) -> Any:
        return selectors.purchase_orders_of_space(self.get_makerspace())

    def create(self, request: Request, makerspace_pk: str) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = in_space_or_400(
            InventoryItem.objects.all(),
            pk=body.validated_data["item_id"],
            makerspace_id=self.get_makerspace().pk,
            field="item",
            label="item",
        )
        order = services.purchase_order_create(
            item=item,
            quantity=body.validated_data["quantity"],
            supplier=body.validated_data.get("supplier", ""),
            acting_user=acting_user(request),
        )
        return Response(self.get_serializer(order).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: s.PurchaseOrderSerializer, 409: ERROR})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, makerspace_pk: str, pk: str) -> Response:
        order = services.purchase_order_cancel(
            order=self.get_object(), acting_user=acting_user(request)
        )
        return Response(self.get_serializer(order).data)
