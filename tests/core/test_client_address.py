"""The client address every per-address limit counts: X-Forwarded-For is believed only
as far as TRUSTED_PROXIES says, so a client cannot pick a fresh address per request."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from rest_framework.test import APIClient

from apps.core.net import client_address
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls")]

GOOD_PASSWORD = "Lathe-and-Mill-2026"
GARBAGE_HEADERS = [
    "not-an-address",
    "",
    " , ,",
    "999.1.1.1",
    "203.0.113.7, <script>",
    "[::1",
    "unknown, 10.0.0.9",
    "1.2.3.4:notaport:5",
    "x" * 5000,
    ",".join(["203.0.113.7"] * 500),
    "2001:db8::1%eth0, 203.0.113.7",
    "\u00e9\u00e8\u0000",
]


def address(remote_addr: str, forwarded: str | None = None) -> str:
    request = RequestFactory().get("/")
    request.META["REMOTE_ADDR"] = remote_addr
    if forwarded is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(request)


def with_rate(settings, scope: str, rate: str) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            scope: rate,
        },
    }


# --- client_address ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("trusted", "remote_addr", "forwarded", "expected"),
    [
        pytest.param(
            [], "198.51.100.1", "203.0.113.7", "198.51.100.1", id="no setting: header ignored"
        ),
        pytest.param([], "198.51.100.1", None, "198.51.100.1", id="no setting, no header"),
        pytest.param(
            ["0"], "198.51.100.1", "203.0.113.7", "198.51.100.1", id="zero hops: header ignored"
        ),
        pytest.param(["1"], "10.0.0.2", "203.0.113.7", "203.0.113.7", id="one hop: last entry"),
        pytest.param(
            ["1"],
            "10.0.0.2",
            "6.6.6.6, 203.0.113.7",
            "203.0.113.7",
            id="one hop: spoofed left entry ignored",
        ),
        pytest.param(
            ["2"], "10.0.0.2", "6.6.6.6, 203.0.113.7, 10.0.0.3", "203.0.113.7", id="two hops"
        ),
        pytest.param(["1"], "10.0.0.2", None, "10.0.0.2", id="one hop, no header: the peer"),
        pytest.param(
            ["2"], "10.0.0.2", "203.0.113.7", "10.0.0.2", id="fewer entries than hops: the peer"
        ),
        pytest.param(
            ["10.0.0.0/8"],
            "10.0.0.2",
            "6.6.6.6, 203.0.113.7",
            "203.0.113.7",
            id="cidr: spoofed left ignored",
        ),
        pytest.param(
            ["10.0.0.0/8", "192.168.1.5/32"],
            "192.168.1.5",
            "6.6.6.6, 203.0.113.7, 10.4.4.4",
            "203.0.113.7",
            id="cidr: proxies skipped from the right",
        ),
        pytest.param(
            ["10.0.0.0/8"],
            "198.51.100.9",
            "203.0.113.7",
            "198.51.100.9",
            id="cidr: untrusted peer, header ignored",
        ),
        pytest.param(
            ["192.168.1.5/32"],
            "192.168.1.6",
            "203.0.113.7",
            "192.168.1.6",
            id="cidr: neighbour of a proxy is no proxy",
        ),
        pytest.param(
            ["10.0.0.0/8"],
            "10.0.0.2",
            "10.7.7.7",
            "10.7.7.7",
            id="cidr: all hops trusted: left-most",
        ),
        pytest.param(["10.0.0.0/8"], "10.0.0.2", None, "10.0.0.2", id="cidr: no header: the peer"),
        pytest.param(
            ["10.0.0.0/8"],
            "10.0.0.2",
            "203.0.113.7, junk",
            "10.0.0.2",
            id="cidr: garbage hop: nearest proxy",
        ),
        pytest.param(
            ["10.0.0.0/8"],
            "10.0.0.2",
            "junk, 10.0.0.5",
            "10.0.0.5",
            id="cidr: garbage behind a proxy hop",
        ),
        pytest.param(["1"], "10.0.0.2", "junk", "10.0.0.2", id="one hop: garbage: the peer"),
        pytest.param(["1"], "10.0.0.2", "203.0.113.7:4711", "203.0.113.7", id="ipv4 with port"),
        pytest.param(
            ["1"], "10.0.0.2", "[2001:DB8::1]:4711", "2001:db8::1", id="ipv6 in brackets with port"
        ),
        pytest.param(
            ["fd00::/8"], "fd00::2", "2001:db8:0::7", "2001:db8::7", id="ipv6 networks, normalised"
        ),
        pytest.param([], "::ffff:203.0.113.7", None, "203.0.113.7", id="ipv4-mapped peer is ipv4"),
        pytest.param(
            ["10.0.0.0/8"], "::ffff:10.0.0.2", "203.0.113.7", "203.0.113.7", id="ipv4-mapped proxy"
        ),
    ],
)
def test_client_address(settings, trusted, remote_addr, forwarded, expected) -> None:
    settings.TRUSTED_PROXIES = trusted

    assert address(remote_addr, forwarded) == expected


@pytest.mark.parametrize("trusted", [[], ["1"], ["3"], ["10.0.0.0/8", "::/0"]])
@pytest.mark.parametrize("forwarded", GARBAGE_HEADERS)
def test_garbage_headers_never_raise(settings, trusted, forwarded) -> None:
    settings.TRUSTED_PROXIES = trusted

    assert isinstance(address("10.0.0.2", forwarded), str)


@pytest.mark.parametrize(
    ("trusted", "message"),
    [
        pytest.param(["many"], "'many' is not a proxy network", id="a word"),
        pytest.param(["10.0.0.1/8"], "has host bits set", id="host bits"),
        pytest.param(["10.0.0.0/33"], "'10.0.0.0/33' is not a proxy network", id="bad prefix"),
        pytest.param(["1", "10.0.0.0/8"], "not both", id="a number and networks"),
        pytest.param(["-1"], "0 or more", id="negative hops"),
    ],
)
def test_a_wrong_setting_is_improperly_configured(settings, trusted, message) -> None:
    settings.TRUSTED_PROXIES = trusted

    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES") as raised:
        address("10.0.0.2", "203.0.113.7")

    assert message in str(raised.value)


# --- the limits that count per address ----------------------------------------------


def test_without_a_setting_rotating_the_header_still_hits_the_anonymous_limit(
    api_client: APIClient, settings
) -> None:
    with_rate(settings, "anon", "3/min")

    statuses = [
        api_client.get("/api/v1/_test/users/", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(5)
    ]

    assert statuses == [200, 200, 200, 429, 429]


def test_without_a_setting_rotating_the_header_still_hits_the_sign_up_limit(
    api_client: APIClient, settings
) -> None:
    from apps.accounts.models import User

    with_rate(settings, "register", "2/hour")

    statuses = [
        api_client.post(
            "/api/v1/users/register",
            {
                "email": f"flood{n}@example.org",
                "name": f"Flooder {n}",
                "password": GOOD_PASSWORD,
                "confirm_password": GOOD_PASSWORD,
            },
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        ).status_code
        for n in range(3)
    ]

    assert statuses == [201, 201, 429]
    assert User.objects.filter(email__startswith="flood").count() == 2


def test_without_a_setting_rotating_the_header_still_hits_the_sign_in_limit(
    api_client: APIClient, settings
) -> None:
    settings.LOGIN_FAILURE_LIMIT_IP = 3
    members = UserFactory.create_batch(4)

    statuses = [
        api_client.post(
            "/api/v1/users/login",
            {"email": member.email, "password": "guess"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        ).status_code
        for n, member in enumerate(members)
    ]

    assert statuses == [401, 401, 401, 429]


def test_without_a_setting_rotating_the_header_still_hits_the_sign_up_page_limit(
    client, settings
) -> None:
    from apps.accounts.models import User

    with_rate(settings, "register", "1/hour")

    statuses = [
        client.post(
            "/accounts/register/",
            {
                "name": f"Flooder {n}",
                "email": f"flood{n}@example.org",
                "password": GOOD_PASSWORD,
                "confirm_password": GOOD_PASSWORD,
                "locale": "en",
            },
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        )
        for n in range(2)
    ]

    assert [response.status_code for response in statuses] == [302, 200]
    assert b"Too many sign-ups" in statuses[1].content
    assert User.objects.filter(email__startswith="flood").count() == 1


def test_with_one_trusted_hop_the_last_entry_is_the_client(api_client: APIClient, settings) -> None:
    settings.TRUSTED_PROXIES = ["1"]
    with_rate(settings, "anon", "2/min")

    def get(forwarded: str) -> int:
        return api_client.get(
            "/api/v1/_test/users/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.0.0.2"
        ).status_code

    same_client = [get(f"6.6.6.{n}, 203.0.113.7") for n in range(3)]
    other_client = get("203.0.113.8")

    assert same_client == [200, 200, 429]
    assert other_client == 200


def test_with_proxy_networks_spoofed_entries_are_ignored(api_client: APIClient, settings) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.LOGIN_FAILURE_LIMIT_IP = 2
    members = UserFactory.create_batch(3)

    def sign_in(member, forwarded: str) -> int:
        return api_client.post(
            "/api/v1/users/login",
            {"email": member.email, "password": DEFAULT_PASSWORD},
            HTTP_X_FORWARDED_FOR=forwarded,
            REMOTE_ADDR="10.0.0.2",
        ).status_code

    guesses = [
        api_client.post(
            "/api/v1/users/login",
            {"email": member.email, "password": "guess"},
            HTTP_X_FORWARDED_FOR=f"6.6.6.{n}, 203.0.113.7, 10.1.1.1",
            REMOTE_ADDR="10.0.0.2",
        ).status_code
        for n, member in enumerate(members[:2])
    ]
    spoofing_again = sign_in(members[2], "6.6.6.99, 203.0.113.7, 10.1.1.1")
    another_client = sign_in(members[2], "203.0.113.8, 10.1.1.1")

    assert guesses == [401, 401]
    assert spoofing_again == 429
    assert another_client == 200


def test_a_header_from_an_untrusted_peer_is_ignored(api_client: APIClient, settings) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    with_rate(settings, "anon", "2/min")

    statuses = [
        api_client.get(
            "/api/v1/_test/users/",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
            REMOTE_ADDR="198.51.100.9",
        ).status_code
        for n in range(3)
    ]

    assert statuses == [200, 200, 429]


@pytest.mark.parametrize("trusted", [[], ["1"], ["2"], ["10.0.0.0/8"]])
def test_garbage_headers_do_not_break_sign_in_or_limits(
    api_client: APIClient, client, settings, trusted
) -> None:
    settings.TRUSTED_PROXIES = trusted
    member = UserFactory.create()

    for forwarded in GARBAGE_HEADERS:
        if "\u0000" in forwarded:
            continue  # A NUL cannot travel in a real header line.
        listed = api_client.get(
            "/api/v1/_test/users/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.0.0.2"
        )
        api_sign_in = api_client.post(
            "/api/v1/users/login",
            {"email": member.email, "password": DEFAULT_PASSWORD},
            HTTP_X_FORWARDED_FOR=forwarded,
            REMOTE_ADDR="10.0.0.2",
        )
        page_sign_in = client.post(
            "/accounts/login/",
            {"email": member.email, "password": DEFAULT_PASSWORD},
            HTTP_X_FORWARDED_FOR=forwarded,
            REMOTE_ADDR="10.0.0.2",
        )

        assert listed.status_code == 200, forwarded
        assert api_sign_in.status_code == 200, forwarded
        assert page_sign_in.status_code == 302, forwarded
