"""Volume data for benchmarks: every app's tables filled at a realistic scale.

Rows go in through PostgreSQL COPY, bypassing the services: the services' per-row
checks are what the test suite covers, and at a million rows they would take hours.
Every row is still one the services could have written: reservations never overlap
on a machine (the exclusion constraint checks it as they land), each item's stock
is the sum of its ledger with every ``balance_after`` the running sum and never
negative, and bills of materials use items of the project's own space.

The same ``seed`` gives the same rows, except that the two years of bookings and
ledger are laid around the day of the run, so that some bookings are always ahead.
"""

import random
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.equipment.models import BookingRules, Equipment, Reservation
from apps.inventory.models import InventoryItem, StockMovement
from apps.makerspaces.hours import WEEKDAYS
from apps.makerspaces.models import Makerspace, Membership, MemberSkill, Skill
from apps.projects.models import BomLine, Project, ProjectCollaborator
from apps.store.models import Category, Market, Product, ProductStockMovement

# Every seeded user signs in with this password, so that login can be benchmarked.
BENCH_PASSWORD = "bench-password-2026"
DEFAULT_SEED = 2026

# The counts at scale 1; each scales linearly, with at least one of each.
BASE_COUNTS = {
    "spaces": 50,
    "users": 20_000,
    "machines": 2_000,
    "reservations": 200_000,
    "items": 5_000,
    "movements": 1_000_000,
    "hot_item_movements": 200_000,
    "projects": 2_000,
    "markets": 50,
    "products": 20_000,
}
# Bookings and ledger span one year back and one year ahead of the run's day.
SPAN_DAYS = 730
SKILLS_PER_SPACE = 5
# Each day has three booking windows a machine's bookings fall inside, so two
# bookings of one machine can never overlap.
BOOKING_WINDOWS = ((9, 0), (13, 0), (17, 0))
WINDOW_MINUTES = 180
TIMEZONES = ("Europe/Kyiv", "Europe/Berlin", "Europe/Lisbon", "Europe/Warsaw", "Europe/Madrid")
EQUIPMENT_TYPES = (
    "3d_printer",
    "sla_printer",
    "laser_cutter",
    "cnc_machine",
    "workstation",
    "tool",
)
SKILL_NAMES = ("laser-basic", "printing-fdm", "cnc-safety", "resin-handling", "electronics")
UNITS = ("pcs", "g", "m", "sheet", "ml")
CATEGORIES = ("filament", "sheet stock", "fasteners", "electronics", "resin", "wood")
COPY_CHUNK = 20_000

ProgressCallback = Callable[[str, int, int], None]
"""Called as ``(stage, rows_done_now, stage_total)``."""


def scaled_counts(scale: float) -> dict[str, int]:
    counts = {name: max(1, round(base * scale)) for name, base in BASE_COUNTS.items()}
    counts["hot_item_movements"] = min(counts["hot_item_movements"], counts["movements"])
    return counts


@dataclass
class _Space:
    id: uuid.UUID
    zone: ZoneInfo
    member_user_ids: list[uuid.UUID] = field(default_factory=list)
    skill_ids: list[uuid.UUID] = field(default_factory=list)
    # Users holding each skill, so a machine is booked only by people trained on it.
    holders: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)
    item_ids: list[uuid.UUID] = field(default_factory=list)


class VolumeSeeder:
    def __init__(self, *, scale: float, seed: int, progress: ProgressCallback) -> None:
        self.counts = scaled_counts(scale)
        self.seed = seed
        self.rng = random.Random(seed)
        self.progress = progress
        self.now = timezone.now().replace(microsecond=0)
        self.first_day = self.now.astimezone(UTC).date() - timedelta(days=SPAN_DAYS // 2)
        self.spaces: list[_Space] = []
        self.created: dict[str, int] = {}

    # -- helpers ---------------------------------------------------------------

    def _uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def _copy(self, model: type, columns: list[str], rows: Iterable[tuple], total: int) -> int:
        """COPY rows in text format. Values are ours (no tabs, newlines or
        backslashes in them), so only None needs spelling as ``\\N``."""
        table = model._meta.db_table  # type: ignore[attr-defined]
        stage = model._meta.verbose_name_plural  # type: ignore[attr-defined]
        written = 0
        with connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                lines: list[str] = []
                for row in rows:
                    lines.append("\t".join(r"\N" if v is None else str(v) for v in row))
                    if len(lines) >= COPY_CHUNK:
                        copy.write("\n".join(lines) + "\n")
                        written += len(lines)
                        self.progress(str(stage), len(lines), total)
                        lines = []
                if lines:
                    copy.write("\n".join(lines) + "\n")
                    written += len(lines)
                    self.progress(str(stage), len(lines), total)
        self.created[str(stage)] = self.created.get(str(stage), 0) + written
        return written

    # -- stages ----------------------------------------------------------------

    def run(self) -> dict[str, int]:
        with transaction.atomic():
            self._spaces()
            self._users_and_memberships()
            self._machines_and_reservations()
            self._inventory()
            self._projects()
            self._store()
            with connection.cursor() as cursor:
                # Fresh statistics, so the first benchmark does not plan on empty tables.
                cursor.execute("ANALYZE")
        return self.created

    def _spaces(self) -> None:
        hours = "{" + ", ".join(f'"{day}": [["08:00", "22:00"]]' for day in WEEKDAYS) + "}"
        rows = []
        for index in range(self.counts["spaces"]):
            zone_name = self.rng.choice(TIMEZONES)
            space = _Space(id=self._uuid(), zone=ZoneInfo(zone_name))
            self.spaces.append(space)
            rows.append(
                (
                    space.id,
                    self.now,
                    self.now,
                    f"Volume Space {index}",
                    f"volume-{self.seed}-{index}",
                    "",
                    f"{index} Bench Street",
                    "Benchtown",
                    f"{44 + self.rng.random() * 8:.6f}",
                    f"{22 + self.rng.random() * 18:.6f}",
                    zone_name,
                    "EUR",
                    "",
                    "",
                    hours,
                    "open",
                    "{}",
                    "t",
                    "t",
                )
            )
        self._copy(
            Makerspace,
            [
                "id",
                "created_at",
                "updated_at",
                "name",
                "slug",
                "description",
                "address",
                "location",
                "latitude",
                "longitude",
                "timezone",
                "currency",
                "contact_email",
                "contact_phone",
                "business_hours",
                "join_policy",
                "settings",
                "verified",
                "is_active",
            ],
            rows,
            len(rows),
        )
        # The defaults a new space gets, except that a member may hold many bookings:
        # seeded members have a year of them ahead, and the booking benchmark adds more.
        BookingRules.objects.bulk_create(
            BookingRules(makerspace_id=space.id, max_active_per_member=1000)
            for space in self.spaces
        )
        skill_rows = []
        for space in self.spaces:
            for name in SKILL_NAMES[:SKILLS_PER_SPACE]:
                skill_id = self._uuid()
                space.skill_ids.append(skill_id)
                space.holders[skill_id] = []
                skill_rows.append(
                    (
                        skill_id,
                        self.now,
                        self.now,
                        name,
                        name.replace("-", " ").title(),
                        "",
                        None,
                        space.id,
                        "f",
                    )
                )
        self._copy(
            Skill,
            [
                "id",
                "created_at",
                "updated_at",
                "slug",
                "name",
                "description",
                "validity_days",
                "makerspace_id",
                "renews_on_use",
            ],
            skill_rows,
            len(skill_rows),
        )

    def _users_and_memberships(self) -> None:
        total_users = self.counts["users"]
        password = make_password(BENCH_PASSWORD, salt="makrxvolumebench")
        user_ids = [self._uuid() for _ in range(total_users)]

        def users() -> Iterator[tuple]:
            for n, user_id in enumerate(user_ids):
                yield (
                    user_id,
                    self.now,
                    self.now,
                    password,
                    None,
                    "f",
                    member_email(seed=self.seed, number=n),
                    f"Member {n}",
                    "",
                    "",
                    "en",
                    "{}",
                    "t",
                    "t",
                    "f",
                )

        self._copy(
            User,
            [
                "id",
                "created_at",
                "updated_at",
                "password",
                "last_login",
                "is_superuser",
                "email",
                "name",
                "phone",
                "address",
                "locale",
                "preferences",
                "email_verified",
                "is_active",
                "is_staff",
            ],
            users(),
            total_users,
        )
        # Everyone belongs to a home space; one in ten to a second one as well.
        memberships: list[tuple[uuid.UUID, uuid.UUID, _Space, str]] = []
        space_count = len(self.spaces)
        for n, user_id in enumerate(user_ids):
            home = self.spaces[n % space_count]
            # The first three members of each space run it.
            rank = n // space_count
            role = "admin" if rank == 0 else "manager" if rank < 3 else "member"
            memberships.append((self._uuid(), user_id, home, role))
            if space_count > 1 and self.rng.random() < 0.1:
                other = self.spaces[(n + 1 + self.rng.randrange(space_count - 1)) % space_count]
                memberships.append((self._uuid(), user_id, other, "member"))
        joined = self.now - timedelta(days=SPAN_DAYS // 2 + 30)
        self._copy(
            Membership,
            [
                "id",
                "created_at",
                "updated_at",
                "role",
                "status",
                "joined_at",
                "makerspace_id",
                "user_id",
            ],
            (
                (mid, self.now, self.now, role, "active", joined, space.id, user_id)
                for mid, user_id, space, role in memberships
            ),
            len(memberships),
        )
        grants = []
        for membership_id, user_id, space, role in memberships:
            space.member_user_ids.append(user_id)
            for skill_id in space.skill_ids:
                # Staff hold every skill, so each machine has someone trained on it.
                if role != "member" or self.rng.random() < 0.4:
                    space.holders[skill_id].append(user_id)
                    grants.append(
                        (
                            self._uuid(),
                            self.now,
                            self.now,
                            joined,
                            None,
                            None,
                            membership_id,
                            skill_id,
                        )
                    )
        self._copy(
            MemberSkill,
            [
                "id",
                "created_at",
                "updated_at",
                "granted_at",
                "expires_at",
                "granted_by_id",
                "membership_id",
                "skill_id",
            ],
            grants,
            len(grants),
        )

    def _machines_and_reservations(self) -> None:
        machine_count = self.counts["machines"]
        machines: list[tuple[uuid.UUID, _Space, uuid.UUID | None]] = []
        machine_rows = []
        requirement_rows = []
        for n in range(machine_count):
            space = self.spaces[n % len(self.spaces)]
            machine_id = self._uuid()
            required = self.rng.choice(space.skill_ids) if self.rng.random() < 0.6 else None
            machines.append((machine_id, space, required))
            if required is not None:
                requirement_rows.append((machine_id, required))
            machine_rows.append(
                (
                    machine_id,
                    self.now,
                    self.now,
                    f"Machine {n}",
                    self.rng.choice(EQUIPMENT_TYPES),
                    "available",
                    f"Room {n % 7 + 1}",
                    "",
                    "{}",
                    f"{self.rng.choice((0, 5, 10, 15, 20))}.00",
                    None,
                    None,
                    0,
                    None,
                    "f",
                    f"{self.rng.getrandbits(192):048x}",
                    space.id,
                )
            )
        self._copy(
            Equipment,
            [
                "id",
                "created_at",
                "updated_at",
                "name",
                "type",
                "status",
                "location",
                "description",
                "specifications",
                "hourly_rate",
                "maintenance_interval_hours",
                "maintenance_interval_days",
                "usage_minutes_since_maintenance",
                "last_maintained_at",
                "maintenance_due",
                "calendar_token",
                "makerspace_id",
            ],
            machine_rows,
            machine_count,
        )
        self._copy(
            Equipment.skill_requirements.through,
            ["equipment_id", "skill_id"],
            requirement_rows,
            len(requirement_rows),
        )
        total = self.counts["reservations"]
        slots_per_machine = SPAN_DAYS * len(BOOKING_WINDOWS)
        per_machine, extra = divmod(total, machine_count)
        if per_machine + (1 if extra else 0) > slots_per_machine:
            raise ValueError("More bookings per machine than booking windows in two years.")

        def reservations() -> Iterator[tuple]:
            for index, (machine_id, space, required) in enumerate(machines):
                bookers = space.holders[required] if required else space.member_user_ids
                count = per_machine + (1 if index < extra else 0)
                for slot in self.rng.sample(range(slots_per_machine), count):
                    yield self._reservation(machine_id, space, bookers, slot)

        self._copy(
            Reservation,
            [
                "id",
                "created_at",
                "updated_at",
                "start_time",
                "end_time",
                "block_end",
                "status",
                "notes",
                "checked_in_at",
                "checked_out_at",
                "used_minutes",
                "cancelled_at",
                "cancel_reason",
                "series_id",
                "reminder_sent_at",
                "cancelled_by_id",
                "decided_by_id",
                "equipment_id",
                "makerspace_id",
                "user_id",
            ],
            reservations(),
            total,
        )

    def _reservation(
        self, machine_id: uuid.UUID, space: _Space, bookers: list[uuid.UUID], slot: int
    ) -> tuple:
        rng = self.rng
        day_offset, window = divmod(slot, len(BOOKING_WINDOWS))
        hour, minute = BOOKING_WINDOWS[window]
        day = self.first_day + timedelta(days=day_offset)
        # Start within the window's first hour and end inside it.
        local_start = datetime.combine(day, time(hour, minute), tzinfo=space.zone) + timedelta(
            minutes=15 * rng.randrange(5)
        )
        start = local_start.astimezone(UTC)
        minutes = 30 * rng.randint(1, 4)
        end = start + timedelta(minutes=minutes)
        user_id = rng.choice(bookers)
        booked_at = min(start - timedelta(days=rng.randint(1, 20)), self.now)
        checked_in = checked_out = used = cancelled_at = None
        if end <= self.now:
            roll = rng.random()
            if roll < 0.8:
                status = "completed"
                checked_in, checked_out, used = start, end, minutes
            elif roll < 0.92:
                status = "cancelled"
                cancelled_at = booked_at + (start - booked_at) / 2
            else:
                status = "no_show"
        else:
            status = "pending" if rng.random() < 0.15 else "confirmed"
        return (
            self._uuid(),
            booked_at,
            booked_at,
            start,
            end,
            end,
            status,
            "",
            checked_in,
            checked_out,
            used,
            cancelled_at,
            "",
            None,
            None,
            user_id if cancelled_at else None,
            None,
            machine_id,
            space.id,
            user_id,
        )

    def _inventory(self) -> None:
        item_count = self.counts["items"]
        movements = self.counts["movements"]
        hot = self.counts["hot_item_movements"] if item_count > 1 else movements
        # The first item takes the long ledger; the others share the rest evenly.
        rest, extra = divmod(movements - hot, max(item_count - 1, 1))
        ledger_lengths = [hot] + [rest + (1 if n < extra else 0) for n in range(item_count - 1)]
        items: list[tuple[uuid.UUID, _Space, int]] = []
        for n, length in enumerate(ledger_lengths):
            space = self.spaces[n % len(self.spaces)]
            item_id = self._uuid()
            space.item_ids.append(item_id)
            items.append((item_id, space, length))
        balances: dict[uuid.UUID, int] = {}
        ledger_start = self.now - timedelta(days=SPAN_DAYS)

        def ledger() -> Iterator[tuple]:
            rng = self.rng
            for item_id, space, length in items:
                if length == 0:
                    balances[item_id] = 0
                    continue
                step = timedelta(days=SPAN_DAYS) / length
                at = ledger_start + timedelta(seconds=rng.randrange(3600))
                balance = rng.randint(100, 1000)
                yield (item_id, balance, "opening", "Opening balance", None, balance, at, 1)
                # Each movement's place in its item's ledger, as the stock service numbers them.
                for position in range(2, length + 1):
                    at += step
                    if balance < 20 or rng.random() < 0.1:
                        delta = rng.randint(100, 500)
                        yield (
                            item_id,
                            delta,
                            "restock",
                            "Delivery",
                            None,
                            balance + delta,
                            at,
                            position,
                        )
                    else:
                        # Never more than is on the shelf: the balance stays at or above zero.
                        delta = -rng.randint(1, min(balance, 20))
                        kind = "consume" if rng.random() < 0.3 else "deduct"
                        user_id = rng.choice(space.member_user_ids)
                        yield (item_id, delta, kind, "", user_id, balance + delta, at, position)
                    balance += delta
                balances[item_id] = balance

        # Items first with zero stock: the ledger decides the stock afterwards.
        item_rows = []
        for n, (item_id, space, _length) in enumerate(items):
            item_rows.append(
                (
                    item_id,
                    self.now,
                    self.now,
                    f"Item {n}",
                    f"SKU-{n:06d}",
                    self.rng.choice(CATEGORIES),
                    self.rng.choice(UNITS),
                    0,
                    self.rng.choice((0, 10, 25, 50)),
                    100,
                    f"Shelf {n % 40 + 1}",
                    "Bench Supplies",
                    f"{self.rng.randint(1, 5000) / 100:.2f}",
                    "t",
                    space.id,
                )
            )
        self._copy(
            InventoryItem,
            [
                "id",
                "created_at",
                "updated_at",
                "name",
                "sku",
                "category",
                "unit",
                "current_stock",
                "min_stock_level",
                "reorder_quantity",
                "location",
                "supplier",
                "unit_cost",
                "is_active",
                "makerspace_id",
            ],
            item_rows,
            item_count,
        )
        self._copy(
            StockMovement,
            [
                "item_id",
                "delta",
                "kind",
                "reason",
                "user_id",
                "balance_after",
                "created_at",
                "position",
                "job_id",
                "source_type",
            ],
            ((*row, "", "") for row in ledger()),
            movements,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMPORARY TABLE volume_stock (id uuid, stock numeric, movements integer) "
                "ON COMMIT DROP"
            )
            lengths = {item_id: length for item_id, _space, length in items}
            with cursor.cursor.copy("COPY volume_stock (id, stock, movements) FROM STDIN") as copy:
                for item_id, stock in balances.items():
                    copy.write_row((item_id, Decimal(stock), lengths[item_id]))
            cursor.execute(
                "UPDATE inventory_inventoryitem AS item SET current_stock = volume_stock.stock, "
                "movement_count = volume_stock.movements "
                "FROM volume_stock WHERE item.id = volume_stock.id"
            )

    def _store(self) -> None:
        # One market per owner: a person first in two spaces' member lists counts once.
        owners = list(
            dict.fromkeys(
                space.member_user_ids[0] for space in self.spaces if space.member_user_ids
            )
        )
        everyone = [user for space in self.spaces for user in space.member_user_ids]
        for user in everyone:
            if len(owners) >= self.counts["markets"]:
                break
            if user not in owners:
                owners.append(user)
        _store_rows(self, owners, [space.id for space in self.spaces])

    def _projects(self) -> None:
        project_rows = []
        bom_rows = []
        collaborator_rows = []
        rng = self.rng
        for n in range(self.counts["projects"]):
            space = self.spaces[n % len(self.spaces)]
            project_id = self._uuid()
            owner = rng.choice(space.member_user_ids)
            project_rows.append(
                (
                    project_id,
                    self.now,
                    self.now,
                    f"Project {n}",
                    "",
                    rng.choice(("draft", "active", "active", "completed", "archived")),
                    rng.choice(("private", "makerspace", "public")),
                    space.id,
                    owner,
                )
            )
            for item_id in rng.sample(space.item_ids, min(len(space.item_ids), rng.randint(1, 5))):
                bom_rows.append(
                    (self._uuid(), self.now, self.now, rng.randint(1, 10), "", item_id, project_id)
                )
            others = [user for user in space.member_user_ids if user != owner]
            for user_id in rng.sample(others, min(len(others), rng.randint(0, 3))):
                role = rng.choice(("viewer", "editor"))
                collaborator_rows.append(
                    (self._uuid(), self.now, self.now, role, owner, project_id, user_id)
                )
        self._copy(
            Project,
            [
                "id",
                "created_at",
                "updated_at",
                "name",
                "description",
                "status",
                "privacy",
                "makerspace_id",
                "owner_id",
            ],
            project_rows,
            len(project_rows),
        )
        self._copy(
            BomLine,
            ["id", "created_at", "updated_at", "quantity", "note", "item_id", "project_id"],
            bom_rows,
            len(bom_rows),
        )
        self._copy(
            ProjectCollaborator,
            ["id", "created_at", "updated_at", "role", "added_by_id", "project_id", "user_id"],
            collaborator_rows,
            len(collaborator_rows),
        )


STORE_TREE = {
    "Electronics": ("Microcontrollers", "Sensors", "Motors", "Power", "Cables"),
    "3D printing": ("Filament", "Resin", "Nozzles", "Build plates"),
    "Tools": ("Hand tools", "Power tools", "Measuring", "Soldering"),
    "Hardware": ("Fasteners", "Bearings", "Profiles", "Springs"),
    "Materials": ("Plywood", "Acrylic", "Metal sheet", "Foam"),
}
PRODUCT_WORDS = [
    *("arduino", "esp32", "servo", "stepper", "sensor", "lidar", "relay", "driver"),
    *("cable", "filament", "petg", "pla", "abs", "resin", "nozzle", "brass", "steel"),
    *("bearing", "bolt", "nut", "washer", "plywood", "acrylic", "aluminium", "drill"),
    *("caliper", "solder", "flux", "heatsink", "battery", "charger", "lens", "magnet"),
    *("spring", "profile", "bracket"),
]


def _store_rows(
    seeder: "VolumeSeeder", owners: list[uuid.UUID], space_ids: list[uuid.UUID]
) -> None:
    """Categories, markets and products with one opening stock movement each."""
    rng, now = seeder.rng, seeder.now
    category_rows: list[tuple[Any, ...]] = []
    leaves: list[uuid.UUID] = []
    for position, (top, children) in enumerate(STORE_TREE.items()):
        top_id = seeder._uuid()
        top_slug = top.lower().replace(" ", "-")
        category_rows.append((top_id, now, now, top, f"{top_slug}", None, position))
        for child in children:
            child_id = seeder._uuid()
            slug = f"{top_slug}-{child.lower().replace(' ', '-')}"
            category_rows.append((child_id, now, now, child, slug, top_id, position))
            leaves.append(child_id)
    seeder._copy(
        Category,
        ["id", "created_at", "updated_at", "name", "slug", "parent_id", "position"],
        category_rows,
        len(category_rows),
    )
    hours = "{" + ", ".join(f'"{day}": [["09:00", "19:00"]]' for day in WEEKDAYS) + "}"
    delivery = (
        '{"pickup": {"enabled": true}, "local_delivery": {"enabled": true, "radius_km": 15, '
        '"fee": "4.00", "minimum_order": "20.00"}, "shipping": {"enabled": true, "fee": "7.50"}}'
    )
    market_ids = []
    market_rows = []
    for n in range(min(seeder.counts["markets"], len(owners))):
        market_id = seeder._uuid()
        market_ids.append(market_id)
        market_rows.append(
            (
                market_id, now, now, owners[n], space_ids[n % len(space_ids)] if n % 2 else None,
                f"Volume Market {n}", f"volume-market-{seeder.seed}-{n}", "", "", "",
                f"{n} Market Street", None, None, "Europe/Kyiv", "EUR", hours, delivery,
                '["card", "cash_on_pickup"]', "t", "t" if n % 3 else "f", None,
                f"{rng.uniform(3, 5):.2f}", rng.randint(0, 500), f"{rng.uniform(0, 9999):.2f}",
                "20.00",
            )
        )  # fmt: skip
    seeder._copy(
        Market,
        [
            "id", "created_at", "updated_at", "owner_id", "makerspace_id", "name", "slug",
            "description", "contact_email", "contact_phone", "address", "latitude",
            "longitude", "timezone", "currency", "business_hours", "delivery_options",
            "payment_methods", "is_active", "verified", "verified_at", "rating",
            "total_orders", "total_revenue", "tax_rate",
        ],
        market_rows,
        len(market_rows),
    )  # fmt: skip
    total = seeder.counts["products"]
    products, movements = [], []
    for n in range(total):
        product_id = seeder._uuid()
        words = rng.sample(PRODUCT_WORDS, 3)
        name = f"{words[0].title()} {words[1]} {n}"
        description = f"A {words[0]} {words[1]} {words[2]} for makers."
        tags = rng.sample(PRODUCT_WORDS, 2)
        price = rng.randint(100, 50_000) / 100
        sale = f"{price * 0.8:.2f}" if n % 7 == 0 else None
        stock = 0 if n % 11 == 0 else rng.randint(1, 500)
        market = None if n % 4 == 0 else market_ids[n % len(market_ids)]
        # COPY's text format reads a backslash and n as a newline.
        document = "\\n".join([name, description, *tags])
        created = now - timedelta(minutes=n)
        products.append(
            (
                product_id, created, created, market, leaves[n % len(leaves)], name,
                f"volume-product-{seeder.seed}-{n}", f"VP-{n:06d}", description, "",
                f"{price:.2f}", sale, "EUR", stock, "t", "t" if n % 13 == 0 else "f",
                "[" + ", ".join(f'"{tag}"' for tag in tags) + "]", "{}", "{}", None,
                "t" if n % 17 == 0 else "f", "t", f"{rng.uniform(0, 5):.2f}",
                rng.randint(0, 40), document, 1 if stock else 0,
            )
        )  # fmt: skip
        if stock:
            movements.append((created, product_id, 1, stock, stock, "restock", "", "", "", None))
    seeder._copy(
        Product,
        [
            "id", "created_at", "updated_at", "market_id", "category_id", "name", "slug",
            "sku", "description", "long_description", "price", "sale_price", "currency",
            "stock_quantity", "track_inventory", "allow_backorder", "tags",
            "specifications", "dimensions", "weight", "is_featured", "is_active", "rating",
            "review_count", "search_document", "movement_count",
        ],
        products,
        total,
    )  # fmt: skip
    seeder._copy(
        ProductStockMovement,
        [
            "created_at", "product_id", "position", "change", "quantity_after", "reason",
            "note", "source_type", "source_id", "actor_id",
        ],
        movements,
        len(movements),
    )  # fmt: skip


def seed_store_volume(*, scale: float, seed: int, progress: ProgressCallback) -> dict[str, int]:
    """The store's share of the volume, on a database seed_volume filled before the store
    existed: market owners are the first volume members, markets run for volume spaces."""
    seeder = VolumeSeeder(scale=scale, seed=seed, progress=progress)
    owners = list(
        User.objects.filter(email__endswith=f".s{seed}@volume.example.org")
        .order_by("created_at", "email")
        .values_list("id", flat=True)[: seeder.counts["markets"]]
    )
    spaces = list(
        Makerspace.objects.filter(slug__startswith=f"volume-{seed}-").values_list("id", flat=True)
    )
    if not owners or not spaces:
        raise ValueError(f"No volume data of seed {seed} to add a store to.")
    with transaction.atomic():
        _store_rows(seeder, owners, spaces)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return seeder.created


def member_email(*, seed: int, number: int) -> str:
    return f"member{number}.s{seed}@volume.example.org"


def seed_volume(*, scale: float, seed: int, progress: ProgressCallback) -> dict[str, int]:
    """Fill the database; answer the rows written per table."""
    return VolumeSeeder(scale=scale, seed=seed, progress=progress).run()


def first_space_slug(*, seed: int) -> str:
    return f"volume-{seed}-0"
