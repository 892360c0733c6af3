"""The `asyncrest` console command: order a resource, watch its progress bar, print or save the result."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import AsyncRestClient, AsyncRestError, OrderFailed, RequestFailed, WaitTimeout

# Exit statuses, so scripts can tell a failed order from a slow one or a refused request.
EXIT_FAILED, EXIT_USAGE, EXIT_TIMEOUT, EXIT_REQUEST = 1, 2, 3, 4


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asyncrest", description="Order long-running jobs from an asyncrest server and collect their results.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    order = commands.add_parser(
        "order", help="place an order, wait for it with a progress bar, print or save its result",
        description="Place an order, wait for it with a progress bar, then print or save its result (JSON).",
    )
    order.add_argument("resource", help="the resource to order, e.g. tagging")
    body = order.add_mutually_exclusive_group()
    body.add_argument("--json", metavar="JSON", help="the order's JSON body, or @FILE to read it from a file")
    body.add_argument("--csv", metavar="FILE", type=Path, help="a CSV file to upload (multipart field `file`)")
    order.add_argument("--url", default=os.environ.get("ASYNCREST_URL", "http://127.0.0.1:8000"),
                       help="the server (default: $ASYNCREST_URL or http://127.0.0.1:8000)")
    order.add_argument("--token", default=os.environ.get("ASYNCREST_TOKEN"),
                       help="an API token (default: $ASYNCREST_TOKEN)")
    order.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                       help="give up waiting after this long (the order goes on on the server)")
    order.add_argument("--output", "-o", type=Path, metavar="FILE", help="save the result here instead of printing it")
    order.add_argument("--idempotency-key", metavar="KEY", help="retrying with the same key never orders twice")
    order.add_argument("--no-progress", action="store_true", help="do not draw the progress bar")
    order.add_argument("--no-wait", action="store_true", help="print the order and exit without waiting")
    return parser


def read_json(text: str | None) -> dict | None:
    if text is None:
        return None
    if text.startswith("@"):
        text = Path(text[1:]).read_text(encoding="utf-8")
    return json.loads(text)


def main(argv: list[str] | None = None) -> int:
    """Run the command line `argv` and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("an API token is needed: --token or $ASYNCREST_TOKEN")
    try:
        body = read_json(args.json)
    except (OSError, ValueError) as exc:
        parser.error(f"--json: {exc}")
    if args.csv is not None and not args.csv.is_file():
        parser.error(f"--csv: no such file: {args.csv}")
    with AsyncRestClient(args.url, args.token) as client:
        return run_order(client, args, body)


def run_order(client: AsyncRestClient, args: argparse.Namespace, body: dict | None) -> int:
    """Place the order, wait for it and emit the result; return the exit status."""
    try:
        order = client.order(args.resource, json=body, csv=args.csv, idempotency_key=args.idempotency_key)
        print(f"order {order.url}", file=sys.stderr)
        if args.no_wait:
            emit(order.data, args.output)
            return 0
        done = client.wait(order, timeout=args.timeout, progress=not args.no_progress)
        print(f"completed: {done.resource_url}", file=sys.stderr)
        emit(client.result(done), args.output)
        return 0
    except OrderFailed as exc:
        print(f"order {exc.order.status}: {exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    except WaitTimeout as exc:
        print(f"{exc}; ask again with: curl -H 'Authorization: Token …' {exc.order.url}", file=sys.stderr)
        return EXIT_TIMEOUT
    except RequestFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REQUEST
    except (AsyncRestError, OSError) as exc:  # requests' connection errors are OSErrors too
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REQUEST
    except KeyboardInterrupt:
        print("\nstopped waiting; the order goes on on the server", file=sys.stderr)
        return 130


def emit(data, output: Path | None) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"saved to {output}", file=sys.stderr)


if __name__ == "__main__":  # python -m asyncrest.cli
    sys.exit(main())
