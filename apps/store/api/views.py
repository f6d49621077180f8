"""The store API: the category tree, the catalogue (products, their stock ledger and
reviews) and markets.

Reads are public and go through selectors' plain rows and the lean presenters; every
write calls one service, which checks the store's permissions itself. The views check
too, but only to answer early (403 before a body is read, 404 for what the caller
cannot see).
"""

from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import permissions as drf_permissions
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import User
from apps.core.api.actors import acting_user
from apps.core.api.concurrency import etag_for, if_match
from apps.core.api.filters import list_criteria
from apps.core.api.keyset import Keyset, KeysetPagination
from apps.core.api.pagination import EnvelopePagination
from apps.core.exceptions import validation_error
from apps.makerspaces.api.permissions import UUID_PATTERN
from apps.store import images as product_images
from apps.store import permissions, selectors, services
from apps.store.api import presenters
from apps.store.api import serializers as s
from apps.store.api.filters import MarketFilter, ProductFilter
from apps.store.catalogue import Catalogue, catalogue_listing
from apps.store.models import (
    Category,
    Market,
    MarketClosure,
    MarketStaff,
    Product,
    ProductImage,
    ProductStockMovement,
)

SLUG_PATTERN = r"[-a-zA-Z0-9_]+"
CREATED = status.HTTP_201_CREATED
NO_CONTENT = status.HTTP_204_NO_CONTENT


def _public_or_signed_in(view: Any, public_actions: set[str]) -> list[Any]:
    if view.action in public_actions:
        return [drf_permissions.AllowAny()]
    return [drf_permissions.IsAuthenticated()]


def _version(model: Any, row: dict[str, Any]) -> str:
    """The ETag of a row read as plain values (its id and ``updated_at``)."""
    return etag_for(model(id=row["id"], updated_at=row["updated_at"]))


# --- categories ------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(responses={200: s.CategorySerializer(many=True)}),
    create=extend_schema(responses={201: s.CategorySerializer}),
    partial_update=extend_schema(responses={200: s.CategorySerializer}),
    destroy=extend_schema(responses={204: None}),
)
class CategoryViewSet(viewsets.GenericViewSet):
    """The catalogue's category tree: anyone reads it (top-level categories, each with
    its `children`); super admins create, change and delete categories, by slug."""

    queryset = Category.objects.none()  # the schema's model
    serializer_class = s.CategorySerializer
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN
    filterset_class = None
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_permissions(self) -> list[Any]:
        return _public_or_signed_in(self, {"list"})

    def _require_super_admin(self) -> None:
        if not permissions.is_super_admin(self.request.user):
            raise PermissionDenied("Only a super admin manages categories.")

    def _category(self, slug: str) -> Category:
        found = selectors.category_by_slug(slug)
        if found is None:
            raise Http404
        return found

    def _node(self, category: Category) -> dict[str, Any]:
        todo = selectors.category_tree()
        while todo:
            node = todo.pop()
            if node["id"] == category.pk:
                return presenters.category_node(node)
            todo.extend(node["children"])
        raise Http404  # deleted meanwhile

    def list(self, request: Request) -> Response:
        roots = selectors.category_tree()
        page = self.paginate_queryset(roots)
        assert page is not None
        return self.get_paginated_response([presenters.category_node(node) for node in page])

    def create(self, request: Request) -> Response:
        self._require_super_admin()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        category = services.category_create(acting_user=acting_user(request), **body.validated_data)
        return Response(self._node(category), status=CREATED)

    def partial_update(self, request: Request, slug: str) -> Response:
        self._require_super_admin()
        category = self._category(slug)
        body = self.get_serializer(category, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        category = services.category_update(
            category=category, acting_user=acting_user(request), changes=dict(body.validated_data)
        )
        return Response(self._node(category))

    def destroy(self, request: Request, slug: str) -> Response:
        self._require_super_admin()
        services.category_delete(category=self._category(slug), acting_user=acting_user(request))
        return Response(status=NO_CONTENT)


# --- products --------------------------------------------------------------------------


def _movement(movement: ProductStockMovement, actor: Any) -> dict[str, Any]:
    return presenters.movement_row(
        {
            "id": movement.pk,
            "position": movement.position,
            "change": movement.change,
            "quantity_after": movement.quantity_after,
            "reason": movement.reason,
            "note": movement.note,
            "source_type": movement.source_type,
            "source_id": movement.source_id,
            "actor_id": movement.actor_id,
            "actor__name": getattr(actor, "name", None),
            "created_at": movement.created_at,
        }
    )


@extend_schema_view(
    list=extend_schema(responses={200: s.ProductSerializer(many=True)}),
    retrieve=extend_schema(responses={200: s.ProductSerializer}),
    create=extend_schema(responses={201: s.ProductSerializer}),
    partial_update=extend_schema(responses={200: s.ProductSerializer}),
    destroy=extend_schema(responses={204: None}),
)
class ProductViewSet(viewsets.GenericViewSet):
    """The catalogue. Anyone lists active products (a market's owner and staff also
    see their market's inactive ones); the detail takes an id or a slug. A market's
    owner and staff create and change its products, super admins any product and the
    central catalogue (`market: null`)."""

    # PATCH takes If-Match and may answer 412.
    optimistic_locking = True

    queryset = Product.objects.none()  # the schema's model
    serializer_class = s.ProductSerializer
    filterset_class = ProductFilter
    lookup_value_regex = SLUG_PATTERN
    keyset = Keyset(selectors.LEDGER_ORDER, salt="store.ledger")
    ledger_length: int | None = None
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_permissions(self) -> list[Any]:
        public = {"list", "retrieve"}
        reads = self.request is not None and self.request.method == "GET"
        if self.action in ("reviews", "images") and reads:
            public.add(self.action)
        return _public_or_signed_in(self, public)

    def get_queryset(self) -> Any:
        return selectors.products_visible_to(self.request.user)

    def _product(self, key: str) -> Product:
        product = selectors.product_for_write(self.get_queryset(), key)
        if product is None:
            raise Http404
        return product

    def _require_manager(self, market: Any) -> None:
        if not permissions.may_manage_products(self.request.user, market):
            raise PermissionDenied(
                "Only a super admin manages the central catalogue."
                if market is None
                else "Only the market's owner and staff manage its products."
            )

    def _answer(self, product: Product, status_code: int = status.HTTP_200_OK) -> Response:
        row = selectors.product_row(Product.objects.all(), str(product.pk))
        assert row is not None
        return Response(
            presenters.product_row(row),
            status=status_code,
            headers={"ETag": _version(Product, row)},
        )

    def list(self, request: Request) -> Response:
        catalogue = Catalogue.of(list_criteria(self, Product))
        products = catalogue_listing(request.user, catalogue)
        page = self.paginate_queryset(products)
        assert page is not None  # every list of the API is paginated
        return self.get_paginated_response(presenters.product_rows(page))

    def retrieve(self, request: Request, pk: str) -> Response:
        row = selectors.product_row(self.get_queryset(), pk)
        if row is None:
            raise Http404
        return Response(presenters.product_row(row), headers={"ETag": _version(Product, row)})

    def create(self, request: Request) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        market = fields.pop("market", None)
        self._require_manager(market)
        product = services.product_create(
            acting_user=acting_user(request),
            market=market,
            category=fields.pop("category"),
            name=fields.pop("name"),
            sku=fields.pop("sku"),
            price=fields.pop("price"),
            opening_stock=fields.pop("stock_quantity", 0),
            **fields,
        )
        return self._answer(product, CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        product = self._product(pk)
        self._require_manager(product.market_id)
        body = self.get_serializer(product, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        product = services.product_update(
            product=product,
            acting_user=acting_user(request),
            changes=dict(body.validated_data),
            expected_etag=if_match(request),
        )
        return self._answer(product)

    def destroy(self, request: Request, pk: str) -> Response:
        """A product with a stock ledger or reviews is deactivated; any other is deleted."""
        product = self._product(pk)
        self._require_manager(product.market_id)
        services.product_delete(product=product, acting_user=acting_user(request))
        return Response(status=NO_CONTENT)

    @extend_schema(request=s.StockChangeSerializer, responses={200: s.ProductStockResultSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    def stock(self, request: Request, pk: str) -> Response:
        """Add stock (`change` > 0) or take it (< 0), with a reason; recorded in the
        product's ledger. Taking more than there is answers 400 INSUFFICIENT_STOCK
        (`details.available`) unless the product allows backorders."""
        product = self._product(pk)
        self._require_manager(product.market_id)
        body = s.StockChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = acting_user(request)
        movement = services.product_stock_change(
            product=product, acting_user=user, **body.validated_data
        )
        in_stock = (
            not product.track_inventory or product.allow_backorder or movement.quantity_after > 0
        )
        return Response(
            {
                "stock_quantity": movement.quantity_after,
                "in_stock": in_stock,
                "movement": _movement(movement, user),
            }
        )

    @extend_schema(responses={200: s.StockMovementSerializer(many=True)})
    @action(
        detail=True,
        methods=["get"],
        url_path="stock-movements",
        filterset_class=None,
        pagination_class=KeysetPagination,
    )
    def stock_movements(self, request: Request, pk: str) -> Response:
        """The product's stock ledger, newest first (its owner, staff and super admins).
        Page by `page` and `limit`, or by `cursor` (each page's `meta.next_cursor`)."""
        product = self._product(pk)
        self._require_manager(product.market_id)
        self.ledger_length = product.movement_count
        page = self.paginate_queryset(selectors.ledger_rows(product))
        assert page is not None
        return self.get_paginated_response([presenters.movement_row(row) for row in page])

    def numbered_total(self, rows: Any) -> int | None:
        """For ``KeysetPagination``: a ledger's positions run 1 to its length."""
        return self.ledger_length

    @extend_schema(
        methods=["GET"],
        request=None,
        responses={200: s.ReviewSerializer(many=True)},
        description="The product's reviews, newest first.",
    )
    @extend_schema(
        methods=["POST"],
        request=s.ReviewSerializer,
        responses={201: s.ReviewSerializer},
        description="Review the product: one review per user (409 ALREADY_REVIEWED).",
    )
    @action(
        detail=True,
        methods=["get", "post"],
        filterset_class=None,
        pagination_class=EnvelopePagination,
        serializer_class=s.ReviewSerializer,
    )
    def reviews(self, request: Request, pk: str) -> Response:
        product = self._product(pk)
        if request.method == "GET":
            page = self.paginate_queryset(selectors.review_rows(product))
            assert page is not None
            return self.get_paginated_response([presenters.review_row(row) for row in page])
        body = s.ReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = acting_user(request)
        review = services.review_create(product=product, acting_user=user, **body.validated_data)
        row = {
            "id": review.pk,
            "user_id": user.pk,
            "user__name": user.name,
            "rating": review.rating,
            "title": review.title,
            "comment": review.comment,
            "verified_purchase": review.verified_purchase,
            "created_at": review.created_at,
        }
        return Response(presenters.review_row(row), status=CREATED)

    @extend_schema(
        methods=["GET"],
        request=None,
        responses={200: s.ProductImageSerializer(many=True)},
        description="The product's pictures in gallery order, with the ids that change or "
        "remove them.",
    )
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": s.ProductImageUploadSerializer},
        responses={201: s.ProductImageSerializer},
        description="Upload a picture (multipart: `image`, `alt_text`), added last (the "
        "market's owner and staff, or a super admin). The file is checked by its content: "
        "400 IMAGE_TOO_LARGE (`details.max_bytes`, `details.max_pixels`), IMAGE_TYPE "
        "(`details.allowed`), IMAGE_UNREADABLE; a product holds at most "
        "`details.max_images` pictures (400 TOO_MANY_IMAGES).",
    )
    @action(
        detail=True,
        methods=["get", "post"],
        filterset_class=None,
        pagination_class=EnvelopePagination,
        serializer_class=s.ProductImageSerializer,
        parser_classes=[MultiPartParser],
    )
    def images(self, request: Request, pk: str) -> Response:
        product = self._product(pk)
        if request.method == "GET":
            page = self.paginate_queryset(selectors.product_image_rows(product))
            assert page is not None
            return self.get_paginated_response([presenters.image_row(row) for row in page])
        self._require_manager(product.market_id)
        # Refused on the declared length, before the body is parsed and the file read.
        product_images.refuse_oversized_body(request.META.get("CONTENT_LENGTH"))
        body = s.ProductImageUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        image = product_images.product_image_add(
            product=product,
            upload=body.validated_data["image"],
            alt_text=body.validated_data["alt_text"],
            acting_user=acting_user(request),
        )
        return Response(_image(image), status=CREATED)

    @extend_schema(
        methods=["PATCH"],
        request=s.ProductImageChangeSerializer,
        responses={200: s.ProductImageSerializer},
        description="Change a picture's `alt_text` or move it to `position` (0 is first).",
    )
    @extend_schema(
        methods=["DELETE"],
        request=None,
        responses={204: None},
        description="Remove a picture; the ones after it move up.",
    )
    @action(
        detail=True,
        methods=["patch", "delete"],
        url_path=rf"images/(?P<image_id>{UUID_PATTERN})",
        filterset_class=None,
        serializer_class=s.ProductImageSerializer,
    )
    def image(self, request: Request, pk: str, image_id: str) -> Response:
        product = self._product(pk)
        self._require_manager(product.market_id)
        image = (
            ProductImage.objects.filter(product=product, pk=image_id)
            .select_related("product__market")
            .first()
        )
        if image is None:
            raise Http404
        if request.method == "DELETE":
            product_images.product_image_remove(image=image, acting_user=acting_user(request))
            return Response(status=NO_CONTENT)
        body = s.ProductImageChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        image = product_images.product_image_update(
            image=image, acting_user=acting_user(request), **body.validated_data
        )
        return Response(_image(image))


def _image(image: ProductImage) -> dict[str, Any]:
    return presenters.image_row(
        {
            "id": image.pk,
            "image": image.image.name,
            "alt_text": image.alt_text,
            "position": image.position,
            "width": image.width,
            "height": image.height,
        }
    )


# --- markets ---------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(responses={200: s.MarketSerializer(many=True)}),
    retrieve=extend_schema(responses={200: s.MarketSerializer}),
    create=extend_schema(responses={201: s.MarketSerializer}),
    partial_update=extend_schema(responses={200: s.MarketSerializer}),
)
class MarketViewSet(viewsets.GenericViewSet):
    """Markets: storefronts of makerspaces and vendors. Anyone lists active markets;
    any signed-in user opens one (one per owner: 409 MARKET_EXISTS), which stays
    unverified until a super admin verifies it; its owner changes it and its staff."""

    # PATCH takes If-Match and may answer 412.
    optimistic_locking = True

    queryset = Market.objects.none()  # the schema's model
    serializer_class = s.MarketSerializer
    filterset_class = MarketFilter
    lookup_value_regex = UUID_PATTERN
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_permissions(self) -> list[Any]:
        public = {"list", "retrieve"}
        if self.action == "closures" and self.request is not None and self.request.method == "GET":
            public.add("closures")
        return _public_or_signed_in(self, public)

    def get_queryset(self) -> Any:
        return selectors.markets_visible_to(self.request.user)

    def _market(self, pk: str) -> Market:
        market = self.get_queryset().filter(pk=pk).select_related("owner").first()
        if market is None:
            raise Http404
        return market

    def _require_owner(self, market: Market) -> None:
        if not permissions.may_edit_market(self.request.user, market):
            raise PermissionDenied("Only the market's owner changes the market and its staff.")

    def _answer(self, market: Market, status_code: int = status.HTTP_200_OK) -> Response:
        row = selectors.market_row(Market.objects.all(), market.pk)
        assert row is not None
        return Response(
            presenters.market_row(row), status=status_code, headers={"ETag": _version(Market, row)}
        )

    def list(self, request: Request) -> Response:
        markets = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(selectors.market_rows(markets))
        assert page is not None
        return self.get_paginated_response([presenters.market_row(row) for row in page])

    def retrieve(self, request: Request, pk: str) -> Response:
        row = selectors.market_row(self.get_queryset(), pk)
        if row is None:
            raise Http404
        return Response(presenters.market_row(row), headers={"ETag": _version(Market, row)})

    def create(self, request: Request) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        market = services.market_create(
            acting_user=acting_user(request), name=fields.pop("name"), **fields
        )
        return self._answer(market, CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        market = self._market(pk)
        self._require_owner(market)
        body = self.get_serializer(market, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        market = services.market_update(
            market=market,
            acting_user=acting_user(request),
            changes=dict(body.validated_data),
            expected_etag=if_match(request),
        )
        return self._answer(market)

    @extend_schema(request=s.MarketVerifySerializer, responses={200: s.MarketSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    def verify(self, request: Request, pk: str) -> Response:
        """Super admins verify a market (or take it back with `{"verified": false}`)."""
        if not permissions.is_super_admin(request.user):
            raise PermissionDenied("Only a super admin verifies markets.")
        market = self._market(pk)
        body = s.MarketVerifySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        market = services.market_verify(
            market=market,
            acting_user=acting_user(request),
            verified=body.validated_data["verified"],
        )
        return self._answer(market)

    @extend_schema(
        methods=["GET"], request=None, responses={200: s.MarketStaffSerializer(many=True)}
    )
    @extend_schema(
        methods=["POST"],
        request=s.MarketStaffAddSerializer,
        responses={201: s.MarketStaffSerializer},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        filterset_class=None,
        serializer_class=s.MarketStaffSerializer,
    )
    def staff(self, request: Request, pk: str) -> Response:
        """The market's staff (its owner's to see and change): they manage its products."""
        market = self._market(pk)
        self._require_owner(market)
        if request.method == "GET":
            page = self.paginate_queryset(selectors.market_staff_rows(market))
            assert page is not None
            return self.get_paginated_response([_staff_row(row) for row in page])
        body = s.MarketStaffAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = User.objects.filter(
            email__iexact=body.validated_data["email"], is_active=True
        ).first()
        if user is None:
            raise validation_error("email", "No account with this email.")
        staff = services.market_staff_add(
            market=market, user=user, acting_user=acting_user(request)
        )
        return Response(
            _staff_row(
                {
                    "id": staff.pk,
                    "user_id": user.pk,
                    "user__name": user.name,
                    "created_at": staff.created_at,
                }
            ),
            status=CREATED,
        )

    @extend_schema(request=None, responses={204: None})
    @action(
        detail=True,
        methods=["delete"],
        url_path=rf"staff/(?P<user_id>{UUID_PATTERN})",
        filterset_class=None,
    )
    def staff_remove(self, request: Request, pk: str, user_id: str) -> Response:
        """The owner takes a person's staff place away."""
        market = self._market(pk)
        self._require_owner(market)
        staff = (
            MarketStaff.objects.filter(market=market, user_id=user_id)
            .select_related("market", "user")
            .first()
        )
        if staff is None:
            raise Http404
        services.market_staff_remove(staff=staff, acting_user=acting_user(request))
        return Response(status=NO_CONTENT)

    @extend_schema(
        methods=["GET"], request=None, responses={200: s.MarketClosureSerializer(many=True)}
    )
    @extend_schema(
        methods=["POST"],
        request=s.MarketClosureSerializer,
        responses={201: s.MarketClosureSerializer},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        filterset_class=None,
        serializer_class=s.MarketClosureSerializer,
    )
    def closures(self, request: Request, pk: str) -> Response:
        """The market's dated closures (anyone reads them; its owner adds them)."""
        market = self._market(pk)
        if request.method == "GET":
            page = self.paginate_queryset(selectors.market_closures(market))
            assert page is not None
            return self.get_paginated_response(s.MarketClosureSerializer(page, many=True).data)
        self._require_owner(market)
        body = s.MarketClosureSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        closure = services.market_closure_add(
            market=market, acting_user=acting_user(request), **body.validated_data
        )
        return Response(s.MarketClosureSerializer(closure).data, status=CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(
        detail=True,
        methods=["delete"],
        url_path=rf"closures/(?P<closure_id>{UUID_PATTERN})",
        filterset_class=None,
    )
    def closure_remove(self, request: Request, pk: str, closure_id: str) -> Response:
        market = self._market(pk)
        self._require_owner(market)
        closure = (
            MarketClosure.objects.filter(market=market, pk=closure_id)
            .select_related("market")
            .first()
        )
        if closure is None:
            raise Http404
        services.market_closure_remove(closure=closure, acting_user=acting_user(request))
        return Response(status=NO_CONTENT)


def _staff_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "user": {"id": str(row["user_id"]), "name": row["user__name"]},
        "created_at": presenters.iso_datetime(row["created_at"]),
    }
