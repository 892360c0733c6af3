"""Benchmark: polls per second of `GET /async/orders/<uuid>/`, full answers and 304s.

Run: .venv/bin/python bench/polls.py [--orders 100] [--requests 5000] [--clients 8]

A real stack (`manage.py runstack --workers 1`) completes `--orders` one-entry orders;
then 8 HTTP client processes (bench/load.py), each POSTing nothing and polling as soon as
its last poll was answered, take the orders in turn:

1. plain polls: every answer is the order's whole representation (`201` with `Location`);
2. conditional polls: `If-None-Match` carries the order's current ETag, so every answer
   is `304 Not Modified` with no body.

Prints requests/s and the latency (p50, p99, max) of each, and the machine.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402
from load import Request  # noqa: E402
from orders import COUNT_CODE, place_orders, wait_for  # noqa: E402

IDS_CODE = """
import json, sys
from asyncrest.models import Order
orders = Order.objects.filter(status="completed", created_at__gte=sys.argv[1])
print(json.dumps([str(pk) for pk in orders.values_list("pk", flat=True)]))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100, help="completed orders the polls take in turn")
    parser.add_argument("--requests", type=int, default=5000, help="polls in each run")
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()

    from machine import describe, describe_services
    from stack import Stack

    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    say("starting the stack")
    with Stack(workers=1, env={"ASYNCREST_ORDER_RATE": ""}) as stack:
        since = datetime.now(timezone.utc).isoformat()
        place_orders(stack, args.orders, args.clients)
        wait_for(stack, COUNT_CODE, [since], args.orders, timeout=600)
        ids = json.loads(stack.manage_shell(IDS_CODE, since))
        etags = {}
        for order_id in ids:
            response = stack.session.get(f"{stack.url}/async/orders/{order_id}/", timeout=30)
            assert response.status_code == 201, response.text
            etags[order_id] = response.headers["ETag"]
        auth = {"Authorization": f"Token {stack.token}"}
        plain = [Request("GET", f"/async/orders/{ids[i % len(ids)]}/", headers=auth) for i in range(args.requests)]
        conditional = [
            Request("GET", request.path, headers={**auth, "If-None-Match": etags[request.path.split("/")[3]]})
            for request in plain
        ]
        say("polling")
        load.run(stack.url, plain[: 4 * args.clients], clients=args.clients, expect=(201,))  # warm up every process
        results = {}
        for name, requests, expect in (("plain", plain, (201,)), ("conditional", conditional, (304,))):
            result = load.run(stack.url, requests, clients=args.clients, expect=expect)
            if result.errors:
                raise SystemExit(result.errors[0])
            results[name] = result

    print(f"machine: {describe()}")
    print(f"{describe_services()}; "
          f"stack: runstack --workers 1; {args.clients} client processes, each polling as soon as answered")
    print(f"GET /async/orders/<uuid>/ of {len(ids)} completed orders in turn")
    print(f"  201 with the order: {results['plain'].summary()}")
    print(f"  304 (If-None-Match): {results['conditional'].summary()}")


if __name__ == "__main__":
    main()
