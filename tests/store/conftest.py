from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.store.models import Category, Market, MarketStaff
from tests.factories import CategoryFactory, MarketFactory, UserFactory


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@dataclass
class Store:
    """A market with its owner and one staff member, another signed-in user, a super
    admin, and a small category tree: tools > (hand-tools, power-tools > drills)."""

    market: Market
    owner: User
    staff: User
    other: User
    admin: User
    tools: Category
    hand_tools: Category
    power_tools: Category
    drills: Category

    def client(self, who: str | None) -> APIClient:
        return client_for(None if who is None else getattr(self, who))


@pytest.fixture
def store(db) -> Store:
    owner = UserFactory.create(name="Olena Owner")
    staff = UserFactory.create(name="Stepan Staff")
    market = MarketFactory.create(owner=owner, name="Kyiv Parts")
    MarketStaff.objects.create(market=market, user=staff)
    tools = CategoryFactory.create(name="Tools", slug="tools")
    power = CategoryFactory.create(name="Power tools", slug="power-tools", parent=tools)
    return Store(
        market=market,
        owner=owner,
        staff=staff,
        other=UserFactory.create(name="Oksana Other"),
        admin=UserFactory.create(name="Ada Admin", is_superuser=True),
        tools=tools,
        hand_tools=CategoryFactory.create(name="Hand tools", slug="hand-tools", parent=tools),
        power_tools=power,
        drills=CategoryFactory.create(name="Drills", slug="drills", parent=power),
    )
