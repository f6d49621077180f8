"""A method a makerspace-scoped route does not have is a 405 with ``Allow``, for everyone.

The routes are read from the URL conf as in the permission matrix, so a route added
later is covered at once. DRF checks permissions before it dispatches to the method,
so the permission class must answer 405 itself instead of looking up an action the
route does not have.
"""

import pytest

from tests.makerspaces.test_permission_matrix import (
    ADMIN,
    ANONYMOUS,
    MEMBER,
    OUTSIDER,
    ROUTES,
    Route,
    World,
    send,
    table_rows,
    url_values,
    world,  # noqa: F401  (the module-scoped fixture, shared with the matrix)
)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _allowed(route: Route) -> set[str]:
    return {method for method, _ in route.actions}


WRONG_METHOD_CASES = [
    pytest.param(route, method, role, id=f"{method} {route.label} as {role}")
    for route in ROUTES
    for method in METHODS
    if method not in _allowed(route)
    for role in (MEMBER, ADMIN)
]


def assert_method_not_allowed(response, route: Route, method: str) -> None:
    assert response.status_code == 405, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert method in body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    allow = {name.strip() for name in response["Allow"].split(",")}
    assert method not in allow
    assert _allowed(route) - {"HEAD"} <= allow, (allow, _allowed(route))


def test_every_route_has_a_method_it_refuses() -> None:
    assert len(WRONG_METHOD_CASES) > 100


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method", "role"), WRONG_METHOD_CASES)
def test_a_method_the_route_does_not_have_is_405(
    world: World,  # noqa: F811
    route: Route,
    method: str,
    role: str,
) -> None:
    # Given a route of the caller's own space and a method it does not have
    url = route.url(url_values(route, route.actions[0][1], world.alpha, world.alpha))
    before = table_rows()

    # When a member or an admin of the space calls it with that method
    response = send(world.callers[role], method, url, {"name": "Renamed", "reason": "x"})

    # Then it is refused as 405 naming the methods it has, and nothing was written
    assert_method_not_allowed(response, route, method)
    assert table_rows() == before


SAMPLE_ROUTES = {
    route.label: route
    for route in ROUTES
    if route.label in {"reservations", "audit-log", "invitations", "inventory"}
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("label", "method"),
    [
        ("reservations", "PUT"),
        ("audit-log", "DELETE"),
        ("invitations", "POST"),
        ("inventory", "PATCH"),
    ],
)
@pytest.mark.parametrize("role", [ANONYMOUS, OUTSIDER])
def test_a_wrong_method_is_405_before_anyone_is_asked_who_they_are(
    world: World,  # noqa: F811
    label: str,
    method: str,
    role: str,
) -> None:
    # Given a list route of a space the caller does not belong to (or no caller at all)
    route = SAMPLE_ROUTES[label]
    url = route.url(url_values(route, route.actions[0][1], world.alpha, world.alpha))
    before = table_rows()

    # When they call it with a method it does not have
    response = send(world.callers.get(role), method, url, {})

    # Then the answer is the same 405 as for members: the methods are public anyway
    assert_method_not_allowed(response, route, method)
    assert table_rows() == before
