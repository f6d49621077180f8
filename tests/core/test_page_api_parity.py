"""Whatever a page can do, the API can do.

Every page route that changes data (it accepts POST, or is a link that writes) is
mapped here to the API operation that does the same, by its operationId in the
generated schema. A new page action without an API operation, a renamed or removed
operation, or a mapping left behind for a page that is gone fails this test, so the
pages and the API cannot drift apart again.
"""

import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

# Page route ("namespace:name") → the API operations (operationIds) doing the same.
PAGE_TO_API: dict[str, tuple[str, ...]] = {
    # accounts
    "accounts:login": ("users_login",),
    "accounts:logout": ("users_logout",),
    "accounts:register": ("users_register",),
    "accounts:profile": ("users_me_update",),
    "accounts:password-change": ("users_me_password",),
    # The page also sets the language cookie; a signed-in member's locale is the API's.
    "accounts:set-language": ("users_me_update",),
    "accounts:verify-email-resend": ("users_verify_email_resend",),
    "accounts:verify-email": ("users_verify_email",),
    "accounts:password-reset": ("users_password_reset",),
    "accounts:password-reset-confirm": ("users_password_reset_confirm",),
    # makerspaces
    "makerspaces:create": ("makerspaces_create",),
    # The emailed link answers by token; the API by the invitation's id, to its addressee.
    "makerspaces:invitation": ("invitations_accept_create", "invitations_decline_create"),
    "makerspaces:invitation-respond": ("invitations_accept_create", "invitations_decline_create"),
    "makerspaces:join": ("makerspaces_join_create",),
    "makerspaces:member-invite": ("makerspaces_members_create",),
    "makerspaces:invitation-revoke": ("makerspaces_invitations_destroy",),
    "makerspaces:member-approve": ("makerspaces_members_approve_create",),
    "makerspaces:member-role": ("makerspaces_members_partial_update",),
    "makerspaces:member-remove": ("makerspaces_members_destroy",),
    "makerspaces:skill-grant": ("makerspaces_members_skills_create",),
    "makerspaces:skill-revoke": ("makerspaces_members_skills_destroy",),
    # equipment
    "equipment:machine": ("makerspaces_reservations_create",),
    "equipment:reservation-cancel": ("makerspaces_reservations_cancel_create",),
    "equipment:reservation-check-in": ("makerspaces_reservations_check_in_create",),
    "equipment:reservation-check-out": ("makerspaces_reservations_check_out_create",),
    "equipment:waitlist-join": ("makerspaces_equipment_waitlist_create",),
    "equipment:waitlist-claim": ("waitlist_claim",),
    "equipment:waitlist-leave": ("waitlist_leave",),
    # inventory
    "inventory:order-create": ("makerspaces_purchase_orders_create",),
    # Receiving an order restocks its items with the order named.
    "inventory:order-receive": ("makerspaces_inventory_restock_create",),
    "inventory:order-cancel": ("makerspaces_purchase_orders_cancel_create",),
    "inventory:restock": ("makerspaces_inventory_restock_create",),
    "inventory:deduct": ("makerspaces_inventory_deduct_create",),
    "inventory:adjust": ("makerspaces_inventory_adjust_create",),
    # projects
    "projects:create": ("makerspaces_projects_create",),
    "projects:edit": ("makerspaces_projects_partial_update",),
    "projects:delete": ("makerspaces_projects_destroy",),
    "projects:consume": ("makerspaces_projects_bom_consume_create",),
    "projects:bom-add": ("makerspaces_projects_bom_create",),
    "projects:bom-update": ("makerspaces_projects_bom_partial_update",),
    "projects:bom-remove": ("makerspaces_projects_bom_destroy",),
    "projects:collaborator-add": ("makerspaces_projects_collaborators_create",),
    "projects:collaborator-remove": ("makerspaces_projects_collaborators_destroy",),
    "projects:booking-link": ("makerspaces_projects_reservations_create",),
    "projects:booking-unlink": ("makerspaces_projects_reservations_destroy",),
    # store
    "store:market-create": ("store_markets_create",),
    "store:product-add": ("store_products_create",),
    "store:product-edit": ("store_products_partial_update",),
    "store:product-stock": ("store_products_stock_create",),
    "store:product-image-add": ("store_products_images_create",),
    "store:product-image-move": ("store_products_images_partial_update",),
    "store:product-image-remove": ("store_products_images_destroy",),
    "store:review": ("store_products_reviews_create",),
    "store:cart-add": ("store_cart_items_create",),
    "store:cart-item": ("store_cart_items_partial_update", "store_cart_items_destroy"),
    "store:checkout": ("store_checkout_create",),
    "store:pay": ("store_orders_pay_create",),
    "store:order-cancel": ("store_orders_cancel_create",),
    "store:market-order-move": ("store_orders_status_create",),
    "store:market-order-refund": ("store_orders_refund_create",),
    "store:fabrication": ("store_fabrication_create",),
    "store:fabrication-accept": ("store_fabrication_accept_create",),
    "store:fabrication-status": ("store_fabrication_status_create",),
}

# Page actions with no API operation, each with the reason. Keep it empty where possible:
# an entry here is a page-only feature a frontend cannot build.
EXCEPTIONS: dict[str, str] = {}

# Pages that write on GET (an emailed link): they accept no POST, yet change data.
WRITES_ON_GET = frozenset({"accounts:verify-email"})

# The page URL confs as of this writing; new apps' pages are found on their own.
EXPECTED_APPS = {"accounts", "makerspaces", "equipment", "inventory", "projects"}
PAGE_URLCONF = re.compile(r"^apps\.\w+\.urls$")


def _page_routes() -> dict[str, Callable[..., Any]]:
    """Every named route of the apps' page URL confs (not the API, admin or feeds)."""
    routes: dict[str, Callable[..., Any]] = {}

    def walk(patterns: list[Any], namespace: str | None) -> Iterator[tuple[str, Any]]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                module = getattr(pattern.urlconf_module, "__name__", "")
                inner = pattern.namespace or namespace
                if namespace is not None or PAGE_URLCONF.match(module):
                    yield from walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and namespace and pattern.name:
                yield f"{namespace}:{pattern.name}", pattern.callback

    for name, callback in walk(get_resolver().url_patterns, None):
        routes[name] = callback
    return routes


def _accepts_post(callback: Callable[..., Any]) -> bool:
    """Whether a page view takes POST: a class-based view with ``post``, a function
    limited by ``require_http_methods`` to methods including POST, or one that reads
    ``request.POST`` / compares the method to "POST"."""
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        return hasattr(view_class, "post") and "post" in view_class.http_method_names
    function: Any = callback
    while True:
        try:
            allowed = inspect.getclosurevars(function).nonlocals.get("request_method_list")
        except TypeError:
            allowed = None
        if allowed is not None:
            return "POST" in allowed
        wrapped = getattr(function, "__wrapped__", None)
        if wrapped is None:
            break
        function = wrapped
    source = inspect.getsource(function)
    return bool(re.search(r"request\.POST|[\"']POST[\"']", source))


def _changing_data() -> set[str]:
    return {
        name
        for name, callback in _page_routes().items()
        if name in WRITES_ON_GET or _accepts_post(callback)
    }


@pytest.fixture(scope="module")
def operation_ids() -> set[str]:
    from drf_spectacular.generators import SchemaGenerator

    document = SchemaGenerator().get_schema(request=None, public=True)
    return {
        operation["operationId"]
        for path in document["paths"].values()
        for method, operation in path.items()
        if isinstance(operation, dict) and "operationId" in operation
    }


def test_the_page_url_confs_of_every_app_are_found() -> None:
    namespaces = {name.split(":")[0] for name in _page_routes()}

    assert namespaces >= EXPECTED_APPS


def test_the_detection_tells_writing_pages_from_reading_ones() -> None:
    # A control: a list page only reads; the booking form, a POST-only action and a
    # class-based form page all write.
    routes = _page_routes()

    assert not _accepts_post(routes["equipment:list"])
    assert not _accepts_post(routes["inventory:reorder-csv"])
    assert _accepts_post(routes["equipment:machine"])
    assert _accepts_post(routes["equipment:waitlist-claim"])
    assert _accepts_post(routes["accounts:password-reset-confirm"])


def test_every_page_that_changes_data_has_an_api_operation() -> None:
    unmapped = sorted(_changing_data() - set(PAGE_TO_API) - set(EXCEPTIONS))

    assert not unmapped, (
        f"Page routes that change data with no API operation: {unmapped}. Add the API "
        "operation and map it in PAGE_TO_API (or, if it truly cannot be, explain it in "
        "EXCEPTIONS)."
    )


def test_every_mapped_operation_exists_in_the_schema(operation_ids: set[str]) -> None:
    missing = sorted(
        f"{page} → {operation}"
        for page, operations in PAGE_TO_API.items()
        for operation in operations
        if operation not in operation_ids
    )

    assert not missing, f"Mapped to operations the schema does not have: {missing}"


def test_the_tables_name_only_page_routes_that_change_data() -> None:
    changing = _changing_data()
    stale = sorted((set(PAGE_TO_API) | set(EXCEPTIONS)) - changing)
    both = sorted(set(PAGE_TO_API) & set(EXCEPTIONS))

    assert not stale, f"Mapped routes that no longer exist or no longer change data: {stale}"
    assert not both, f"Routes both mapped and excepted: {both}"
