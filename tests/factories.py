import datetime

import factory
from django.utils import timezone

from apps.accounts.models import User
from apps.equipment.models import Equipment
from apps.inventory.models import InventoryItem
from apps.makerspaces.models import (
    Closure,
    Invitation,
    Makerspace,
    Membership,
    MemberSkill,
    Skill,
)
from apps.store.models import Cart, Category, Market, Product, Voucher

DEFAULT_PASSWORD = "Correct-Horse-42"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"member{n}@example.org")
    name = factory.Faker("name")
    email_verified = True
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()  # type: ignore[attr-defined]


class MakerspaceFactory(factory.django.DjangoModelFactory[Makerspace]):
    class Meta:
        model = "makerspaces.Makerspace"

    name = factory.Sequence(lambda n: f"Makerspace {n}")
    slug = factory.Sequence(lambda n: f"makerspace-{n}")
    description = "Tools, machines and friendly people."
    address = "1 Workshop Street"
    location = "Kyiv"
    timezone = "Europe/Kyiv"
    currency = "UAH"
    join_policy = "open"


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = "makerspaces.Membership"

    user = factory.SubFactory(UserFactory)
    makerspace = factory.SubFactory(MakerspaceFactory)
    role = "member"
    status = "active"


class SkillFactory(factory.django.DjangoModelFactory[Skill]):
    class Meta:
        model = "makerspaces.Skill"

    makerspace = factory.SubFactory(MakerspaceFactory)
    slug = factory.Sequence(lambda n: f"skill-{n}")
    name = factory.Sequence(lambda n: f"Skill {n}")


class MemberSkillFactory(factory.django.DjangoModelFactory[MemberSkill]):
    class Meta:
        model = "makerspaces.MemberSkill"

    membership = factory.SubFactory(MembershipFactory)
    skill = factory.SubFactory(
        SkillFactory, makerspace=factory.SelfAttribute("..membership.makerspace")
    )


class ClosureFactory(factory.django.DjangoModelFactory[Closure]):
    class Meta:
        model = "makerspaces.Closure"

    makerspace = factory.SubFactory(MakerspaceFactory)
    date = factory.Sequence(lambda n: timezone.localdate() + datetime.timedelta(days=30 + n))
    reason = "Holiday"


class InvitationFactory(factory.django.DjangoModelFactory[Invitation]):
    class Meta:
        model = "makerspaces.Invitation"

    makerspace = factory.SubFactory(MakerspaceFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.org")
    role = "member"
    expires_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=14))


class EquipmentFactory(factory.django.DjangoModelFactory[Equipment]):
    class Meta:
        model = "equipment.Equipment"

    makerspace = factory.SubFactory(MakerspaceFactory)
    name = factory.Sequence(lambda n: f"Machine {n}")
    type = "laser_cutter"
    status = "available"
    hourly_rate = "10.00"


class InventoryItemFactory(factory.django.DjangoModelFactory[InventoryItem]):
    """An item with no stock; give it stock through the services so the ledger agrees."""

    class Meta:
        model = "inventory.InventoryItem"

    makerspace = factory.SubFactory(MakerspaceFactory)
    name = factory.Sequence(lambda n: f"Material {n}")
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    unit = "pcs"


# --- store -----------------------------------------------------------------------------


class CategoryFactory(factory.django.DjangoModelFactory[Category]):
    class Meta:
        model = "store.Category"

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class MarketFactory(factory.django.DjangoModelFactory[Market]):
    """A market; its owner is a new user unless given."""

    class Meta:
        model = "store.Market"

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Market {n}")
    slug = factory.Sequence(lambda n: f"market-{n}")


class ProductFactory(factory.django.DjangoModelFactory[Product]):
    """A product with no stock and no ledger; give it stock through the services so the
    ledger agrees (``apps.store.services.product_stock_change``)."""

    class Meta:
        model = "store.Product"

    category = factory.SubFactory(CategoryFactory)
    market = None
    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    sku = factory.Sequence(lambda n: f"P-{n:05d}")
    price = "10.00"
    search_document = factory.LazyAttribute(lambda o: o.name)


class VoucherFactory(factory.django.DjangoModelFactory[Voucher]):
    """A store-wide 10 % voucher with no limits unless given."""

    class Meta:
        model = "store.Voucher"

    code = factory.Sequence(lambda n: f"CODE{n}")
    market = None
    kind = "percent"
    value = "10.00"


class CartFactory(factory.django.DjangoModelFactory[Cart]):
    """A signed-in user's cart; give ``user=None, session_key=...`` for a visitor's."""

    class Meta:
        model = "store.Cart"

    user = factory.SubFactory(UserFactory)
    session_key = None
