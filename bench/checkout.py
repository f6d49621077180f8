"""`make bench`, second part: checkout under load, with Stripe answering slowly.

Every buyer has one unit of one product in their cart and checks out once; there are
more buyers than units, so the product sells out part-way. The payment provider is
the tests' stand-in for the Stripe API on loopback, answering each call after
``BENCH_PROVIDER_DELAY_MS`` (200 ms by default), as a real one would across the
internet. gunicorn runs with production settings and threaded workers, so a worker
waiting on the provider still serves other requests.

It reports orders per second (successful checkouts over the time from the first
request to the last answer), the latency of the successful ones, and checks the
result: as many orders as units (never more), the product's stock at zero, its
ledger equal to its stock, one PaymentIntent per order.

Environment (all optional): BENCH_CHECKOUT_DATABASE_URL, BENCH_CHECKOUT_REDIS_URL,
BENCH_CHECKOUT_BUYERS (1200), BENCH_CHECKOUT_STOCK (1000), BENCH_CHECKOUT_CLIENTS
(concurrent buyers, 64), BENCH_CHECKOUT_WORKERS (4) and BENCH_CHECKOUT_THREADS (16)
of gunicorn, BENCH_PROVIDER_DELAY_MS (200), BENCH_CHECKOUT_PORT (8101).
Load goes only to 127.0.0.1 and stops once every buyer has checked out.
"""

import http.client
import json
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import stripe_server  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
HOST = "127.0.0.1"
PORT = int(os.environ.get("BENCH_CHECKOUT_PORT", "8101"))
BUYERS = int(os.environ.get("BENCH_CHECKOUT_BUYERS", "1200"))
STOCK = int(os.environ.get("BENCH_CHECKOUT_STOCK", "1000"))
CLIENTS = int(os.environ.get("BENCH_CHECKOUT_CLIENTS", "64"))
WORKERS = int(os.environ.get("BENCH_CHECKOUT_WORKERS", "4"))
THREADS = int(os.environ.get("BENCH_CHECKOUT_THREADS", "16"))
PROVIDER_DELAY = int(os.environ.get("BENCH_PROVIDER_DELAY_MS", "200")) / 1000
DATABASE_URL = os.environ.get(
    "BENCH_CHECKOUT_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/makrx_bench_checkout"
)
REDIS_URL = os.environ.get("BENCH_CHECKOUT_REDIS_URL", "redis://127.0.0.1:6379/4")
TARGET_ORDERS_PER_SECOND = 50
ADDRESS = {
    "name": "Bench Buyer",
    "line1": "Khreshchatyk 1",
    "city": "Kyiv",
    "postal_code": "01001",
    "country": "UA",
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def environment(provider_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "makrx.settings",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": os.environ.get("BENCH_SECRET_KEY", secrets.token_urlsafe(64)),
        "ALLOWED_HOSTS": f"{HOST},localhost,testserver",
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "THROTTLE_ANON": "100000000/min",
        "THROTTLE_USER": "100000000/min",
        "JWT_ACCESS_MINUTES": "600",
        "STRIPE_SECRET_KEY": stripe_server.SECRET_KEY,
        "STRIPE_WEBHOOK_SECRET": stripe_server.WEBHOOK_SECRET,
        "STRIPE_API_BASE": provider_url,
        # Each thread of a worker may hold a connection while it waits on the provider.
        "DATABASE_POOL_MAX": str(THREADS + 2),
        # Emails go nowhere here; the worker that would send them is not what is measured.
        "EMAIL_URL": "dummymail://",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    env.pop("JWT_SIGNING_KEY", None)
    return env


def recreate_database() -> None:
    import psycopg
    import redis

    # Emails the checkouts enqueue wait in this Redis database: start it empty.
    redis.Redis.from_url(REDIS_URL).flushdb()

    name = str(psycopg.conninfo.conninfo_to_dict(DATABASE_URL)["dbname"])
    maintenance = psycopg.conninfo.make_conninfo(DATABASE_URL, dbname="postgres")
    with psycopg.connect(maintenance, autocommit=True) as admin:
        identifier = psycopg.sql.Identifier(name)
        admin.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(identifier))
        admin.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(identifier))


def seed() -> tuple[str, list[str]]:
    """A market with one product of STOCK units, and BUYERS buyers each with one unit of
    it in their cart. Answers the product's id and one bearer token per buyer."""
    import django

    django.setup()
    from django.core.management import call_command

    from apps.accounts import services as account_services
    from apps.accounts.models import User
    from apps.store import services
    from apps.store.models import Cart, CartItem

    call_command("migrate", "--noinput", verbosity=0)
    admin = User.objects.create_superuser(
        email="bench-admin@makrx.local", password=None, name="Bench admin"
    )
    owner = User.objects.create_user(
        email="bench-owner@makrx.local", password=None, name="Bench owner"
    )
    category = services.category_create(acting_user=admin, name="Bench parts", slug="bench")
    market = services.market_create(
        acting_user=owner,
        name="Bench market",
        delivery_options={"pickup": {"enabled": True}},
        payment_methods=["card"],
    )
    product = services.product_create(
        acting_user=owner,
        market=market,
        category=category,
        name="Last units",
        sku="BENCH-1",
        price=Decimal("12.50"),
        opening_stock=STOCK,
    )
    buyers = User.objects.bulk_create(
        User(email=f"buyer{n}@bench.makrx.local", name=f"Buyer {n}") for n in range(BUYERS)
    )
    # Seed rows, written directly: the measured part is the checkout, not filling carts.
    carts = Cart.objects.bulk_create(Cart(user=buyer) for buyer in buyers)
    CartItem.objects.bulk_create(CartItem(cart=cart, product=product, quantity=1) for cart in carts)
    tokens = [str(account_services.session_start(user=buyer).access_token) for buyer in buyers]
    return str(product.pk), tokens


def start_server(env: dict[str, str], log_file: Path) -> subprocess.Popen[bytes]:
    command = [
        str(Path(PYTHON).with_name("gunicorn")),
        "makrx.wsgi:application",
        "--workers",
        str(WORKERS),
        "--worker-class",
        "gthread",
        "--threads",
        str(THREADS),
        "--bind",
        f"{HOST}:{PORT}",
    ]
    with log_file.open("ab") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{PORT}/health", timeout=2):
                return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit(f"gunicorn did not answer on {HOST}:{PORT}; see {log_file}")


class Buyers:
    """Checkouts by many buyers at once; each client thread keeps its own connection."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.lock = threading.Lock()
        self.results: list[tuple[int, float, float, str]] = []

    def connection(self) -> http.client.HTTPConnection:
        if not hasattr(self.local, "connection"):
            self.local.connection = http.client.HTTPConnection(HOST, PORT, timeout=60)
        return self.local.connection

    def checkout(self, token: str) -> None:
        body = json.dumps(
            {
                "shipping_address": ADDRESS,
                "billing_address": ADDRESS,
                "shipping_method": "pickup",
            }
        )
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": str(uuid.uuid4()),
        }
        started = time.monotonic()
        connection = self.connection()
        try:
            connection.request("POST", "/api/v1/store/checkout", body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            del self.local.connection
            status, payload = 0, str(exc).encode()
        finished = time.monotonic()
        code = ""
        if status != 201:
            try:
                code = json.loads(payload).get("error", {}).get("code", "")
            except ValueError:
                code = payload[:80].decode(errors="replace")
        with self.lock:
            self.results.append((status, started, finished, code))


def verify(product_id: str, succeeded: int, provider: Any) -> dict[str, Any]:
    from django.db.models import Sum

    from apps.store.models import Order, Product

    product = Product.objects.get(pk=product_id)
    ledger = product.stock_movements.aggregate(total=Sum("change"))["total"]
    orders = Order.objects.count()
    intents = len(provider.calls("POST", "/v1/payment_intents"))
    return {
        "orders": orders,
        "stock_left": product.stock_quantity,
        "ledger_equals_stock": ledger == product.stock_quantity,
        "payment_intents": intents,
        "oversold": orders > STOCK or product.stock_quantity < 0,
        "consistent": orders == succeeded == min(STOCK, BUYERS)
        and product.stock_quantity == STOCK - orders
        and ledger == product.stock_quantity
        and intents == orders,
    }


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    with stripe_server.running(delay=PROVIDER_DELAY) as provider:
        env = environment(provider.url)
        os.environ.update(env)
        recreate_database()
        log(f"seeding {BUYERS} buyers and {STOCK} units")
        product_id, tokens = seed()
        from django.db import connections

        connections.close_all()
        server = start_server(env, RESULTS / f"{stamp}-checkout-gunicorn.log")
        buyers = Buyers()
        try:
            log(f"{BUYERS} checkouts, {CLIENTS} at a time, provider delay {PROVIDER_DELAY}s")
            began = time.monotonic()
            with ThreadPoolExecutor(CLIENTS) as pool:
                list(pool.map(buyers.checkout, tokens))
            ended = time.monotonic()
        finally:
            server.terminate()
            server.wait(timeout=30)
        succeeded = [r for r in buyers.results if r[0] == 201]
        refused: dict[str, int] = {}
        for status, _started, _finished, code in buyers.results:
            if status != 201:
                key = f"{status} {code}".strip()
                refused[key] = refused.get(key, 0) + 1
        last_success = max((r[2] for r in succeeded), default=ended)
        latencies = sorted((r[2] - r[1]) * 1000 for r in succeeded)
        result = {
            "date": stamp,
            "buyers": BUYERS,
            "stock": STOCK,
            "clients": CLIENTS,
            "workers": WORKERS,
            "threads": THREADS,
            "provider_delay_ms": PROVIDER_DELAY * 1000,
            "succeeded": len(succeeded),
            "refused": refused,
            "seconds": round(ended - began, 2),
            "orders_per_second": round(len(succeeded) / (last_success - began), 1)
            if succeeded
            else 0.0,
            "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
            "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 1) if latencies else None,
            **verify(product_id, len(succeeded), provider),
        }
    out = RESULTS / f"{stamp}-checkout.json"
    out.write_text(json.dumps(result, indent=2))
    print(
        "| scenario | orders/s | target | p50 ms | p95 ms | orders | stock left | refused | ok |\n"
        "|---|---:|---:|---:|---:|---:|---:|---|---|\n"
        f"| checkout ({PROVIDER_DELAY * 1000:.0f} ms provider) | {result['orders_per_second']} "
        f"| ≥ {TARGET_ORDERS_PER_SECOND} | {result['p50_ms']} | {result['p95_ms']} "
        f"| {result['orders']} | {result['stock_left']} | {refused} "
        f"| {'yes' if result['consistent'] else 'NO'} |"
    )
    log(f"wrote {out.relative_to(ROOT)}")
    if not result["consistent"]:
        raise SystemExit("checkout bench: the result is inconsistent (see the JSON)")


if __name__ == "__main__":
    main()
