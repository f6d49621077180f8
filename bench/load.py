"""Concurrent clients against a running MakrX: directory, equipment list, availability,
and booking races. Bounded in time and count; talks only to the given base URL."""

import argparse
import json
import random
import statistics
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

PASSWORD = "bench-password-2026"


def login(base: str, email: str) -> str:
    response = requests.post(
        f"{base}/api/v1/users/login", json={"email": email, "password": PASSWORD}, timeout=10
    )
    response.raise_for_status()
    return response.json()["access_token"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8100")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--max-requests", type=int, default=200_000)
    args = parser.parse_args()
    if not args.base.startswith(("http://127.", "http://localhost", "http://[::1]")):
        raise SystemExit("Load is only ever sent to this machine (loopback).")

    spaces = requests.get(f"{args.base}/api/v1/makerspaces/?limit=100", timeout=10).json()["data"]
    latencies: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    lock = threading.Lock()
    deadline = time.monotonic() + args.seconds
    sent = [0]

    def client(index: int) -> None:
        rng = random.Random(index)
        space = spaces[index % len(spaces)]
        space_index = space["slug"].split("-")[-1]
        token = login(args.base, f"bench{space_index}-{1 + index % 30}@example.org")
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        root = f"{args.base}/api/v1/makerspaces/{space['id']}"
        machines = session.get(f"{root}/equipment/?limit=100", timeout=10).json()["data"]
        zone = ZoneInfo("Europe/Kyiv")
        while time.monotonic() < deadline:
            with lock:
                if sent[0] >= args.max_requests:
                    return
                sent[0] += 1
            day = datetime.now(zone).date() + timedelta(days=rng.randint(1, 20))
            start = datetime(day.year, day.month, day.day, rng.choice([12, 14, 16]), tzinfo=zone)
            window = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
            choice = rng.random()
            began = time.perf_counter()
            if choice < 0.3:
                name, response = (
                    "directory",
                    session.get(
                        f"{args.base}/api/v1/makerspaces/?near=50.45,30.52&limit=20", timeout=10
                    ),
                )
            elif choice < 0.6:
                name, response = "equipment list", session.get(f"{root}/equipment/", timeout=10)
            elif choice < 0.8:
                name, response = (
                    "available",
                    session.get(f"{root}/equipment/available", params=window, timeout=10),
                )
            else:
                machine = rng.choice(machines)
                name, response = (
                    "book",
                    session.post(
                        f"{root}/reservations/",
                        json={
                            "equipment": machine["id"],
                            "start_time": window["start"],
                            "end_time": window["end"],
                        },
                        timeout=10,
                    ),
                )
            elapsed = (time.perf_counter() - began) * 1000
            with lock:
                latencies[name].append(elapsed)
                statuses[name][response.status_code] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.monotonic() - started
    report = {}
    for name, values in sorted(latencies.items()):
        values.sort()
        report[name] = {
            "requests": len(values),
            "rps": round(len(values) / duration, 1),
            "p50_ms": round(statistics.median(values), 1),
            "p95_ms": round(values[int(len(values) * 0.95) - 1], 1),
            "p99_ms": round(values[int(len(values) * 0.99) - 1], 1),
            "statuses": dict(statuses[name]),
        }
        print(f"{name:15} {json.dumps(report[name])}")
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    (results / f"load-{stamp}.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
