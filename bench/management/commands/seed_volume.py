"""``python manage.py seed_volume --scale 1``: volume data for the benchmarks."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from apps.accounts.models import User
from apps.makerspaces.models import Makerspace
from bench.volume import (
    BENCH_PASSWORD,
    DEFAULT_SEED,
    first_space_slug,
    member_email,
    scaled_counts,
    seed_store_volume,
    seed_volume,
)


class Command(BaseCommand):
    help = (
        "Fill a PostgreSQL database with benchmark volume: at scale 1, 50 spaces, 20,000 "
        "users, 2,000 machines, 200,000 bookings, 5,000 items with 1,000,000 stock "
        "movements, 2,000 projects, and a store of 50 markets and 20,000 products."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", type=float, default=1.0, help="1 is the full volume.")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Same seed, same rows.")
        parser.add_argument(
            "--force", action="store_true", help="Seed even though the database holds data."
        )
        parser.add_argument(
            "--store-only",
            action="store_true",
            help="Add only the store's volume to a database seeded before the store existed.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        scale: float = options["scale"]
        seed: int = options["seed"]
        if connection.vendor != "postgresql":
            raise CommandError(
                f"seed_volume needs PostgreSQL (COPY, the booking exclusion constraint); "
                f"this database is {connection.vendor}. Set DATABASE_URL."
            )
        if not 0 < scale <= 10:
            raise CommandError("--scale must be above 0 and at most 10.")
        if options["store_only"]:
            self._store_only(scale, seed)
            return
        if not options["force"] and (Makerspace.objects.exists() or User.objects.exists()):
            raise CommandError(
                "The database is not empty; seed_volume adds a million rows on top of "
                "whatever is there. Pass --force to do it anyway."
            )
        if Makerspace.objects.filter(slug=first_space_slug(seed=seed)).exists():
            raise CommandError(f"Volume data of seed {seed} is already here; pass another --seed.")

        self._report(
            scale, seed, lambda advance: seed_volume(scale=scale, seed=seed, progress=advance)
        )

    def _store_only(self, scale: float, seed: int) -> None:
        from apps.store.models import Product

        if Product.objects.exists():
            raise CommandError("The store already holds products; nothing to add.")
        try:
            self._report(
                scale,
                seed,
                lambda advance: seed_store_volume(scale=scale, seed=seed, progress=advance),
            )
        except ValueError as error:
            raise CommandError(str(error)) from error

    def _report(self, scale: float, seed: int, seed_with: Any) -> None:
        console = Console(stderr=True)
        started = time.monotonic()
        with Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            tasks: dict[str, Any] = {}

            def advance(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = progress.add_task(stage, total=total)
                progress.advance(tasks[stage], done)

            created = seed_with(advance)
        elapsed = time.monotonic() - started

        expected = scaled_counts(scale)
        self.stdout.write(f"Seeded at scale {scale} (seed {seed}) in {elapsed:.1f} s:")
        for table, count in created.items():
            self.stdout.write(f"  {table:<32} {count:>10,}")
        self.stdout.write(
            f"One item has a ledger of {expected['hot_item_movements']:,} movements "
            f"(SKU-000000 in {first_space_slug(seed=seed)})."
        )
        self.stdout.write(
            f"Users sign in as {member_email(seed=seed, number=0)} … "
            f"{member_email(seed=seed, number=expected['users'] - 1)} "
            f"with the password {BENCH_PASSWORD}"
        )
