"""Shared fixtures for equipment tests: a space open around the clock in Kyiv, a trained
member, and a laser cutter that needs the laser-basic skill."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from apps.makerspaces.hours import WEEKDAYS
from apps.makerspaces.models import MemberSkill
from tests.factories import (
    EquipmentFactory,
    MakerspaceFactory,
    MembershipFactory,
    SkillFactory,
)

KYIV = ZoneInfo("Europe/Kyiv")
ALWAYS_OPEN = {day: [["00:00", "24:00"]] for day in WEEKDAYS}


def slot(
    days: int = 1, hour: int = 10, minutes: int = 60, minute: int = 0
) -> tuple[datetime, datetime]:
    """A window ``days`` from today at ``hour`` Kyiv time, ``minutes`` long."""
    day = timezone.now().astimezone(KYIV).date() + timedelta(days=days)
    start = datetime(day.year, day.month, day.day, hour, minute, tzinfo=KYIV)
    return start, start + timedelta(minutes=minutes)


@pytest.fixture
def space():
    return MakerspaceFactory.create(timezone="Europe/Kyiv", business_hours=ALWAYS_OPEN)


@pytest.fixture
def laser_skill(space):
    return SkillFactory.create(makerspace=space, slug="laser-basic", name="Laser basics")


@pytest.fixture
def laser(space, laser_skill):
    machine = EquipmentFactory.create(makerspace=space, name="Laser cutter", type="laser_cutter")
    machine.skill_requirements.add(laser_skill)
    return machine


@pytest.fixture
def member(space, laser_skill):
    membership = MembershipFactory.create(makerspace=space, role="member")
    MemberSkill.objects.create(membership=membership, skill=laser_skill)
    return membership.user


@pytest.fixture
def untrained(space):
    return MembershipFactory.create(makerspace=space, role="member").user


@pytest.fixture
def manager(space):
    return MembershipFactory.create(makerspace=space, role="manager").user
