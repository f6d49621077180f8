"""`make bench`: MakrX under real load beside its floors, one table and one JSON file.

Seeds the bench database when it is empty, captures the SQL of every read scenario
through the real view (that is F1), starts gunicorn with production settings plus the
floor routes (bench/settings.py), drives each scenario and its F1 with wrk at several
connection counts, and prints MakrX's throughput as a fraction of F1's.

Environment (all optional): BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_SCALE (seed_volume),
BENCH_SECONDS (per wrk run), BENCH_CONNECTIONS ("4,16,64"), BENCH_SCENARIOS (names to
run, comma-separated), BENCH_WORKERS (gunicorn), BENCH_PORT, BENCH_OIDC_PORT (of the local
OpenID Connect provider; any free port by default), BENCH_PASSWORD (of seeded users).
Load goes only to 127.0.0.1, bounded by BENCH_SECONDS per run.
"""

import json
import os
import pickle
import re
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import oidc  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
HOST = "127.0.0.1"
PORT = int(os.environ.get("BENCH_PORT", "8100"))
BASE = f"http://{HOST}:{PORT}"
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
CONNECTIONS = [int(c) for c in os.environ.get("BENCH_CONNECTIONS", "4,16,64").split(",")]
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
PASSWORD = os.environ.get("BENCH_PASSWORD", "bench-password-2026")
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/makrx_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")

# Production mode, as gunicorn will run it: the same values here (for the capture and
# the tokens) and in the server, so tokens minted here verify there. Throttles are
# lifted: the bench measures the server, not the rate limits. Sign-in through an
# OpenID Connect provider is on, against a local one that runs as long as this process.
OIDC_PROVIDER = oidc.start(int(os.environ.get("BENCH_OIDC_PORT", "0")))
ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": REDIS_URL,
    "SECRET_KEY": os.environ.get("BENCH_SECRET_KEY", secrets.token_urlsafe(64)),
    "ALLOWED_HOSTS": f"{HOST},localhost,testserver",
    "DEBUG": "false",
    "SECURE_SSL_REDIRECT": "false",
    "THROTTLE_ANON": "100000000/min",
    "THROTTLE_USER": "100000000/min",
    "JWT_ACCESS_MINUTES": "600",
    **oidc.environment(OIDC_PROVIDER),
}
ENV.pop("JWT_SIGNING_KEY", None)
os.environ.update(ENV)

# wrk reports through this script: percentiles (p95 included, which --latency lacks),
# socket errors, the request count and a count per status code (each wrk thread counts
# its own; done() adds them up), as one JSON line. A scenario with a body puts its own
# request() or method and body before it.
WRK_REPORT = r"""
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function(args) statuses = {} end
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
done = function(summary, latency, requests)
  local parts = {}
  local merged = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      merged[status] = (merged[status] or 0) + n
    end
  end
  for status, n in pairs(merged) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p95_us": %d, "p99_us": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    table.concat(parts, ", ")))
end
"""


@dataclass
class Scenario:
    name: str
    path: str
    who: str = "anonymous"  # anonymous, member, member-oidc or manager
    method: str = "GET"
    # Lua for a write: a request() that builds each body (writes have no F1).
    lua: str = ""
    # Answers a write may give under contention without anything being wrong.
    expected: tuple[int, ...] = ()
    body: dict[str, Any] | None = None
    queries: int | None = None
    captured: list[tuple[str, Any]] = field(default_factory=list)
    skipped: str = ""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ensure_database() -> None:
    import psycopg

    name = str(psycopg.conninfo.conninfo_to_dict(DATABASE_URL)["dbname"])
    maintenance = psycopg.conninfo.make_conninfo(DATABASE_URL, dbname="postgres")
    with psycopg.connect(maintenance, autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return
        log(f"creating database {name}")
        admin.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))


def ensure_wrk() -> None:
    if subprocess.run(["which", "wrk"], capture_output=True).returncode == 0:
        return
    log("installing wrk")
    if subprocess.run(["apt-get", "install", "-y", "wrk"]).returncode != 0:
        subprocess.run(["apt-get", "update"], check=True)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True)


def setup_and_seed() -> None:
    import django

    django.setup()
    from django.core.management import call_command, get_commands

    from apps.makerspaces.models import Makerspace

    call_command("migrate", "--noinput", verbosity=0)
    if Makerspace.objects.exists():
        from apps.store.models import Product

        if not Product.objects.exists() and "seed_volume" in get_commands():
            # A volume database seeded before the store existed gets the store's share.
            scale = os.environ.get("BENCH_SCALE", "1")
            command = [PYTHON, "manage.py", "seed_volume", "--scale", scale, "--store-only"]
            log("seeding the store: " + " ".join(command[1:]))
            subprocess.run(command, cwd=ROOT, env=ENV, check=True)
        return
    if "seed_volume" in get_commands():
        scale = os.environ.get("BENCH_SCALE", "1")
        command = [PYTHON, "manage.py", "seed_volume", "--scale", scale]
    else:
        args = os.environ.get("BENCH_SEED_ARGS", "--spaces 50 --members 40 --machines 12")
        command = [PYTHON, "bench/seed.py", *args.split()]
    log("seeding: " + " ".join(command[1:]))
    subprocess.run(command, cwd=ROOT, env=ENV, check=True)


def pick_fixtures() -> dict[str, Any]:
    """The space, people and rows the scenarios read: the busiest of each, so the pages
    are full ones."""
    from django.db.models import Count

    from apps.equipment import selectors
    from apps.equipment.models import Equipment
    from apps.inventory.models import InventoryItem
    from apps.makerspaces.models import Makerspace, Membership
    from apps.projects.models import Project
    from apps.store.models import Product

    # The item with the longest ledger, by the count each item keeps of its movements.
    longest = (
        InventoryItem.objects.filter(movement_count__gt=0)
        .order_by("-movement_count")
        .values_list("id", "makerspace_id", "movement_count")
        .first()
    )
    heaviest: dict[str, Any] | None = (
        {"item_id": longest[0], "item__makerspace_id": longest[1], "n": longest[2]}
        if longest
        else None
    )
    space: Any
    if heaviest:
        space = Makerspace.objects.get(pk=heaviest["item__makerspace_id"])
    else:
        space = Makerspace.objects.annotate(n=Count("equipment")).order_by("-n", "slug").first()
    if space is None:
        raise SystemExit("No makerspace in the bench database: seeding failed.")
    active = Membership.objects.filter(makerspace=space, status="active").select_related("user")
    manager = active.filter(role__in=["admin", "manager"]).order_by("role", "created_at").first()
    member = active.filter(role="member").order_by("created_at").first()
    if manager is None or member is None:
        raise SystemExit(f"{space.slug} needs an active member and an admin or manager.")
    tomorrow = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    tomorrow += timedelta(days=1)
    bookable = selectors.bookable_equipment(
        makerspace=space, user=member.user, start=tomorrow, end=tomorrow + timedelta(hours=1)
    )
    return {
        "space": space,
        "member": member.user,
        "manager": manager.user,
        "machine": Equipment.objects.filter(makerspace=space).order_by("name").first(),
        "item": heaviest["item_id"] if heaviest else None,
        "movements": heaviest["n"] if heaviest else 0,
        "project": Project.objects.filter(makerspace=space).exists(),
        "products": Product.objects.filter(is_active=True).count(),
        "bookable": [str(pk) for pk in bookable.values_list("pk", flat=True)[:50]],
    }


def tokens(fixtures: dict[str, Any]) -> dict[str, str]:
    """Bearer tokens from the real login; a seed whose password is unknown here still
    gets a session of the same kind the login opens. "member-oidc" is the member's
    access token from the local provider, as a single sign-on client would send it."""
    from django.test import Client

    from apps.accounts import services

    client = Client()
    result = {}
    for who in ("member", "manager"):
        user = fixtures[who]
        response = client.post(
            "/api/v1/users/login",
            {"email": user.email, "password": PASSWORD},
            content_type="application/json",
        )
        if response.status_code == 200:
            result[who] = response.json()["access_token"]
        else:
            result[who] = str(services.session_start(user=user).access_token)
    member = fixtures["member"]
    result["member-oidc"] = oidc.access_token(
        OIDC_PROVIDER,
        email=member.email,
        name=member.name,
        lifetime_seconds=int(ENV["JWT_ACCESS_MINUTES"]) * 60,
    )
    return result


def scenarios(fixtures: dict[str, Any]) -> list[Scenario]:
    space = fixtures["space"]
    api = f"/api/v1/makerspaces/{space.pk}"
    zone_day = (datetime.now(UTC) + timedelta(days=3)).date()
    start = f"{zone_day}T00:00:00Z"
    end = f"{zone_day + timedelta(days=1)}T00:00:00Z"
    machine = fixtures["machine"]
    item = fixtures["item"]
    deep_skipped = (
        ""
        if fixtures["movements"] >= 200_000
        else f"the busiest item has {fixtures['movements']:,} movements (< 200,000)"
    )
    # Newest first: the cursor after the 199,980th newest movement starts page 10,000.
    from apps.inventory.api.views import InventoryViewSet

    deep_cursor = InventoryViewSet.keyset.cursor(
        {"position": max(fixtures["movements"] - 199_979, 1)}
    )
    found = [
        Scenario("directory", "/api/v1/makerspaces/?limit=25"),
        Scenario("directory-search", "/api/v1/makerspaces/?limit=25&search=bench"),
        Scenario("directory-near", "/api/v1/makerspaces/?limit=25&near=48.0,30.0"),
        Scenario("space-detail", f"/api/v1/makerspaces/{space.pk}", "member"),
        Scenario("equipment-list", f"{api}/equipment/?limit=25", "member"),
        Scenario(
            "equipment-detail",
            f"{api}/equipment/{machine.pk if machine else 'none'}",
            "member",
            skipped="" if machine else "no machine",
        ),
        Scenario("available-day", f"{api}/equipment/available?start={start}&end={end}", "member"),
        Scenario("reservations-member", f"{api}/reservations/?limit=25", "member"),
        Scenario("reservations-member-oidc", f"{api}/reservations/?limit=25", "member-oidc"),
        Scenario("reservations-manager", f"{api}/reservations/?limit=25", "manager"),
        Scenario(
            "movements-page-1",
            f"{api}/inventory/{item}/movements",
            "manager",
            skipped="" if item else "no stock movements in the seed",
        ),
        Scenario(
            "movements-page-10000",
            f"{api}/inventory/{item}/movements?page=10000",
            "manager",
            # The default page of 20 rows: page 10,000 needs 200,000 movements.
            skipped=deep_skipped,
        ),
        Scenario(
            "movements-cursor-10000",
            f"{api}/inventory/{item}/movements?cursor={deep_cursor}",
            "manager",
            # The same 20 rows as page 10,000, reached by the cursor a walk would hold.
            skipped=deep_skipped,
        ),
        Scenario(
            "projects-list",
            f"{api}/projects/?limit=25",
            "member",
            skipped="" if fixtures["project"] else "no project in the seed",
        ),
        Scenario("users-me", "/api/v1/users/me", "member"),
        # The store's catalogue, anonymous: a category with its sub-categories, in stock,
        # by price; a full-text search by rating; and a deep page of the newest.
        Scenario(
            "store-products",
            "/api/v1/store/products/?limit=25&category=electronics&in_stock=true&sort=price_asc",
            skipped="" if fixtures["products"] else "no products in the seed",
        ),
        Scenario(
            "store-products-search",
            "/api/v1/store/products/?limit=25&search=filament&sort=rating",
            skipped="" if fixtures["products"] else "no products in the seed",
        ),
        Scenario(
            "store-products-deep",
            "/api/v1/store/products/?limit=25&page=400&sort=newest",
            skipped="" if fixtures["products"] >= 10_000 else "fewer than 10,000 products",
        ),
    ]
    if fixtures["bookable"]:
        found.append(reservation_create(api, fixtures["bookable"]))
    if item:
        found.append(
            Scenario(
                "inventory-deduct",
                f"{api}/inventory/{item}/deduct",
                "manager",
                "POST",
                body={"quantity": "0.001", "reason": "bench"},
                expected=(400,),
            )
        )
    member = fixtures["member"]
    found.append(
        Scenario(
            "login",
            "/api/v1/users/login",
            method="POST",
            body={"email": member.email, "password": PASSWORD},
        )
    )
    return found


def reservation_create(api: str, machines: list[str]) -> Scenario:
    # Each request books a random half hour inside business hours (10:00 to 17:00 UTC)
    # of the next 50 days on one of the machines the member may book: most succeed at
    # first, and a slot already taken answers the expected 409.
    first_day = (int(datetime.now(UTC).timestamp()) // 86400 + 1) * 86400
    names = ", ".join(f'"{m}"' for m in machines)
    lua = f"""
local machines = {{{names}}}
wrk.headers["Content-Type"] = "application/json"
request = function()
  local start = {first_day} + math.random(0, 49) * 86400 + 36000 + math.random(0, 13) * 1800
  local body = string.format(
    '{{"equipment": "%s", "start_time": "%s", "end_time": "%s"}}',
    machines[math.random(#machines)],
    os.date("!%Y-%m-%dT%H:%M:00Z", start), os.date("!%Y-%m-%dT%H:%M:00Z", start + 1800))
  return wrk.format("POST", nil, nil, body)
end
"""
    body = {
        "equipment": machines[0],
        "start_time": datetime.fromtimestamp(first_day + 36000, UTC).isoformat(),
        "end_time": datetime.fromtimestamp(first_day + 37800, UTC).isoformat(),
    }
    return Scenario(
        "reservation-create",
        f"{api}/reservations/",
        "member",
        "POST",
        lua=lua,
        body=body,
        expected=(409,),
    )


def capture(found: list[Scenario], bearer: dict[str, str]) -> None:
    """Run each scenario once through the real view and record every statement: the
    query count per request, and for reads the SQL F1 replays."""
    for scenario in found:
        if not scenario.skipped:
            capture_one(scenario, bearer.get(scenario.who))


def capture_one(scenario: Scenario, token: str | None) -> None:
    from django.db import connection
    from django.test import Client

    client = Client(headers={"Authorization": f"Bearer {token}"} if token else {})

    def run() -> Any:
        if scenario.method == "GET":
            return client.get(scenario.path)
        return client.post(scenario.path, scenario.body, content_type="application/json")

    if scenario.method == "GET":
        # Once first, so caches a worker fills on its first request are warm and the
        # capture is of the steady state.
        run()
    statements: list[tuple[str, Any]] = []

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        response = run()
    if response.status_code >= 400 and response.status_code not in scenario.expected:
        scenario.skipped = f"answers {response.status_code} in process"
        return
    scenario.queries = len(statements)
    if scenario.method == "GET":
        scenario.captured = [
            (sql, params)
            for sql, params in statements
            if re.match(r"\s*(SELECT|WITH)\b", sql, re.IGNORECASE)
        ]


def start_server(capture_file: Path, log_file: Path) -> subprocess.Popen[bytes]:
    env = {**ENV, "BENCH_CAPTURE_FILE": str(capture_file)}
    command = [
        str(Path(PYTHON).with_name("gunicorn")),
        "makrx.wsgi:application",
        "--workers",
        str(WORKERS),
        "--worker-class",
        "sync",
        "--bind",
        f"{HOST}:{PORT}",
    ]
    with log_file.open("ab") as output:
        server = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{BASE}/bench/f0", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit(f"gunicorn did not answer on {BASE}; see {log_file}")


def worker_rss_mib(master: int) -> float:
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != master:
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, IndexError, ValueError):
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        if match:
            total += int(match.group(1))
    return round(total / 1024, 1)


def wrk(
    url: str,
    conns: int,
    token: str | None,
    lua: str,
    expected: tuple[int, ...] = (),
    seconds: int = SECONDS,
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua + WRK_REPORT)
    command = ["wrk", "-t", str(min(conns, 2)), "-c", str(conns), "-d", f"{seconds}s"]
    command += ["--timeout", "10s", "-s", script.name]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    try:
        output = subprocess.run(
            [*command, url], capture_output=True, text=True, timeout=seconds + 60
        ).stdout
    finally:
        os.unlink(script.name)
        settle()
    line = next((x for x in output.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        return {"error": output[-500:]}
    raw = json.loads(line[6:])
    elapsed = raw["duration_us"] / 1e6
    statuses = {int(code): n for code, n in raw["statuses"].items()}
    non2xx = sum(n for code, n in statuses.items() if not 200 <= code < 300)
    return {
        "rps": round(raw["requests"] / elapsed, 1) if elapsed else 0.0,
        "requests": raw["requests"],
        "p50_ms": raw["p50_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "statuses": statuses,
        "non2xx": non2xx,
        "socket_errors": raw["socket_errors"],
        "errors": non2xx
        + raw["socket_errors"]
        - sum(n for code, n in statuses.items() if code in expected),
    }


def settle() -> None:
    """Wait until the workers are idle again. Requests wrk left queued when it stopped
    (a slow page at 64 connections leaves many) are still served after it has gone, and
    would otherwise eat into the next run."""
    deadline = time.monotonic() + 180
    quick = 0
    while quick < 2 and time.monotonic() < deadline:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(f"{BASE}/bench/f0", timeout=30):
                pass
        except OSError:
            pass
        quick = quick + 1 if time.monotonic() - started < 0.05 else 0
        time.sleep(0.2)


def warm_up(found: list[Scenario], bearer: dict[str, str]) -> None:
    """A second of load on every read and its floor first: each worker's first requests
    load code and fill caches, which is not what the table is about."""
    wrk(f"{BASE}/bench/f0", 8, None, "", seconds=1)
    for scenario in found:
        if scenario.skipped or scenario.method != "GET":
            continue
        wrk(BASE + scenario.path, 8, bearer.get(scenario.who), "", seconds=1)
        if scenario.captured:
            wrk(f"{BASE}/bench/f1/{scenario.name}", 8, None, "", seconds=1)


def body_lua(scenario: Scenario) -> str:
    if scenario.lua:
        return scenario.lua
    if scenario.method == "GET":
        return ""
    body = json.dumps(scenario.body).replace("\\", "\\\\").replace("'", "\\'")
    return (
        f'wrk.method = "{scenario.method}"\n'
        f"wrk.body = '{body}'\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    ensure_database()
    ensure_wrk()
    setup_and_seed()
    fixtures = pick_fixtures()
    bearer = tokens(fixtures)
    found = scenarios(fixtures)
    wanted = os.environ.get("BENCH_SCENARIOS")
    if wanted:
        found = [s for s in found if s.name in wanted.split(",")]
    capture(found, bearer)
    from django.db import connections

    connections.close_all()
    capture_file = RESULTS / f"{stamp}-sql.pickle"
    capture_file.write_bytes(pickle.dumps({s.name: s.captured for s in found if s.captured}))
    server = start_server(capture_file, RESULTS / f"{stamp}-gunicorn.log")
    rows: list[dict[str, Any]] = []
    halves: list[dict[str, Any]] = []
    try:
        warm_up(found, bearer)
        for conns in CONNECTIONS:
            f0 = wrk(f"{BASE}/bench/f0", conns, None, "")
            rows.append({"scenario": "F0", "conns": conns, "makrx": f0, "f1": None})
        for scenario in found:
            if scenario.skipped:
                log(f"skipped {scenario.name}: {scenario.skipped}")
                continue
            token = bearer.get(scenario.who)
            for conns in CONNECTIONS:
                makrx = wrk(
                    BASE + scenario.path, conns, token, body_lua(scenario), scenario.expected
                )
                makrx["worker_rss_mib"] = worker_rss_mib(server.pid)
                floor = (
                    wrk(f"{BASE}/bench/f1/{scenario.name}", conns, None, "")
                    if scenario.captured
                    else None
                )
                rows.append(
                    {
                        "scenario": scenario.name,
                        "path": scenario.path,
                        "method": scenario.method,
                        "who": scenario.who,
                        "conns": conns,
                        "queries": scenario.queries,
                        "makrx": makrx,
                        "f1": floor,
                    }
                )
                log(f"{scenario.name} @{conns}: {makrx.get('rps')} req/s")
            half = half_load(scenario, token, [r for r in rows if r["scenario"] == scenario.name])
            if half is not None:
                halves.append({"scenario": scenario.name, **half})
    finally:
        server.terminate()
        server.wait(timeout=30)
        capture_file.unlink(missing_ok=True)
        OIDC_PROVIDER.stop()
    print(table(rows))
    print()
    print(half_table(halves))
    out = RESULTS / f"{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "date": stamp,
                "seconds": SECONDS,
                "workers": WORKERS,
                "space": str(fixtures["space"].slug),
                "movements_of_item": fixtures["movements"],
                "skipped": {s.name: s.skipped for s in found if s.skipped},
                "rows": rows,
                "half_load": halves,
            },
            indent=2,
        )
    )
    log(f"wrote {out.relative_to(ROOT)}")


HALF_LOAD_CONNECTIONS = 16


def half_load(
    scenario: Scenario, token: str | None, runs: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """Latency at about half of saturation: wrk's connections pause between requests
    (its Lua ``delay()``) so that together they offer half the best throughput the
    scenario reached; each pause is the interval that rate gives a connection, less the
    latency of the lightest run."""
    measured = [r["makrx"] for r in runs if r["makrx"].get("requests")]
    if not measured:
        return None
    best = max(m["rps"] for m in measured)
    light = min(runs, key=lambda r: r["conns"])["makrx"]
    target = best / 2
    interval_ms = HALF_LOAD_CONNECTIONS * 1000 / target if target else 0.0
    pause_ms = max(0, round(interval_ms - light.get("p50_ms", 0.0)))
    lua = body_lua(scenario) + f"\ndelay = function() return {pause_ms} end\n"
    result = wrk(BASE + scenario.path, HALF_LOAD_CONNECTIONS, token, lua, scenario.expected)
    if "error" in result:
        return None
    log(f"{scenario.name} at half load: {result['rps']} req/s, p95 {result['p95_ms']} ms")
    return {"saturation_rps": best, "target_rps": round(target, 1), "pause_ms": pause_ms, **result}


def half_table(halves: list[dict[str, Any]]) -> str:
    lines = [
        "| scenario | saturation req/s | offered ½ | served req/s | p50 / p95 / p99 ms | errors |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for half in halves:
        lines.append(
            f"| {half['scenario']} | {half['saturation_rps']:,.0f} | {half['target_rps']:,.0f} "
            f"| {half['rps']:,.0f} | {half['p50_ms']:.1f} / {half['p95_ms']:.1f} / "
            f"{half['p99_ms']:.1f} | {half['errors']} |"
        )
    return "\n".join(lines)


def table(rows: list[dict[str, Any]]) -> str:
    header = (
        "| scenario | conns | MakrX req/s | F1 req/s | MakrX/F1 | p50 / p95 / p99 ms "
        "| errors | queries | workers RSS MiB |"
    )
    lines = [header, "|---|---:|---:|---:|---:|---|---:|---:|---:|"]
    for row in rows:
        makrx, floor = row["makrx"], row["f1"]
        if "error" in makrx or not makrx["requests"]:
            failed = "wrk failed" if "error" in makrx else "no answer in time"
            lines.append(f"| {row['scenario']} | {row['conns']} | {failed} | | | | | | |")
            continue
        f1_rps = floor.get("rps") if floor else None
        ratio = f"{makrx['rps'] / f1_rps:.2f}" if f1_rps else "-"
        lines.append(
            f"| {row['scenario']} | {row['conns']} | {makrx['rps']:,.0f} "
            f"| {f'{f1_rps:,.0f}' if f1_rps else '-'} | {ratio} "
            f"| {makrx['p50_ms']:.1f} / {makrx['p95_ms']:.1f} / {makrx['p99_ms']:.1f} "
            f"| {makrx['errors']} | {'-' if row.get('queries') is None else row['queries']} "
            f"| {makrx.get('worker_rss_mib', '-')} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
