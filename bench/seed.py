"""Volume data for load tests: spaces with members, trained machines and bookings.

Writes directly through the ORM in bulk (the services' per-row checks are what the
tests cover); every row is still valid for the services that read it.
"""

import argparse
import os
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "makrx.settings")

import django

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.accounts.models import User  # noqa: E402
from apps.equipment.models import Equipment, Reservation  # noqa: E402
from apps.makerspaces.hours import WEEKDAYS  # noqa: E402
from apps.makerspaces.models import Makerspace, Membership, MemberSkill, Skill  # noqa: E402

PASSWORD = "bench-password-2026"
TYPES = ["3d_printer", "laser_cutter", "cnc_machine", "workstation", "tool", "sla_printer"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spaces", type=int, default=50)
    parser.add_argument("--members", type=int, default=40)
    parser.add_argument("--machines", type=int, default=12)
    parser.add_argument("--bookings", type=int, default=30, help="per machine")
    args = parser.parse_args()
    rng = random.Random(2026)
    password = make_password(PASSWORD)
    zone = ZoneInfo("Europe/Kyiv")
    today = timezone.now().astimezone(zone).date()
    with transaction.atomic():
        for index in range(args.spaces):
            slug = f"bench-{index}"
            if Makerspace.objects.filter(slug=slug).exists():
                continue
            space = Makerspace.objects.create(
                name=f"Bench Space {index}",
                slug=slug,
                timezone="Europe/Kyiv",
                latitude=round(44 + rng.random() * 8, 6),
                longitude=round(22 + rng.random() * 18, 6),
                join_policy="open",
                business_hours={day: [["00:00", "24:00"]] for day in WEEKDAYS},
            )
            skill = Skill.objects.create(makerspace=space, slug="general", name="General")
            users = User.objects.bulk_create(
                User(email=f"bench{index}-{n}@example.org", name=f"Bench {n}", password=password)
                for n in range(args.members)
            )
            memberships = Membership.objects.bulk_create(
                Membership(user=user, makerspace=space, role="admin" if n == 0 else "member")
                for n, user in enumerate(users)
            )
            MemberSkill.objects.bulk_create(
                MemberSkill(membership=membership, skill=skill) for membership in memberships
            )
            machines = Equipment.objects.bulk_create(
                Equipment(makerspace=space, name=f"Machine {n}", type=rng.choice(TYPES))
                for n in range(args.machines)
            )
            for machine in machines:
                machine.skill_requirements.add(skill)
                bookings = []
                for n in range(args.bookings):
                    day = today + timedelta(days=n - args.bookings // 2)
                    start = datetime(day.year, day.month, day.day, 9, 0, tzinfo=zone)
                    end = start + timedelta(hours=2)
                    past = end < timezone.now()
                    bookings.append(
                        Reservation(
                            makerspace=space,
                            equipment=machine,
                            user=rng.choice(users),
                            start_time=start,
                            end_time=end,
                            block_end=end,
                            status="completed" if past else "confirmed",
                            used_minutes=120 if past else None,
                        )
                    )
                Reservation.objects.bulk_create(bookings)
    print(
        f"{Makerspace.objects.count()} spaces, {User.objects.count()} users, "
        f"{Equipment.objects.count()} machines, {Reservation.objects.count()} bookings; "
        f"members sign in as bench<space>-<n>@example.org / {PASSWORD}"
    )


if __name__ == "__main__":
    main()
