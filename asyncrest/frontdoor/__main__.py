"""`python -m asyncrest.frontdoor --bind HOST:PORT --upstream unix:PATH`: serve until SIGTERM or SIGINT."""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from .messages import MAX_HEAD
from .server import FrontDoor, Limits

STOP_GRACE = 25.0  # for requests in hand; runstack waits 30 s before its second SIGTERM


def address(value: str) -> tuple[str, int]:
    host, colon, port = value.rpartition(":")
    if not colon or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def parse_args(argv=None) -> argparse.Namespace:
    defaults = Limits()
    parser = argparse.ArgumentParser(prog="python -m asyncrest.frontdoor", description=__doc__)
    parser.add_argument("--bind", type=address, required=True, help="HOST:PORT to listen on.")
    parser.add_argument("--upstream", required=True, help="unix:PATH or HOST:PORT of the web server.")
    parser.add_argument("--header-timeout", type=float, default=defaults.header_timeout)
    parser.add_argument("--body-grace", type=float, default=defaults.body_grace)
    parser.add_argument("--body-rate", type=float, default=defaults.body_rate, help="Bytes a second.")
    parser.add_argument("--max-body", type=int, default=None, help="Bytes; none by default.")
    parser.add_argument("--max-connections", type=int, default=defaults.max_connections)
    parser.add_argument("--upstream-idle", type=float, default=defaults.upstream_idle,
                        help="Seconds an idle upstream connection is kept for the next request (0: one per "
                             "request); keep it under the web server's keep-alive.")
    return parser.parse_args(argv)


async def serve(options: argparse.Namespace) -> None:
    limits = Limits(
        header_timeout=options.header_timeout, body_grace=options.body_grace, body_rate=options.body_rate,
        max_body=options.max_body, max_connections=options.max_connections, upstream_idle=options.upstream_idle,
    )
    door = FrontDoor(options.upstream, limits)
    host, port = options.bind
    server = await asyncio.start_server(door.handle, host or None, port, limit=MAX_HEAD, backlog=1024)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"front door: listening on {host}:{port}, passing requests to {options.upstream}", file=sys.stderr,
          flush=True)
    await stop.wait()
    server.close()  # no new connections; idle ones go now, requests in hand get STOP_GRACE
    door.close_idle()
    deadline = loop.time() + STOP_GRACE
    while door.busy and loop.time() < deadline:
        await asyncio.sleep(0.05)


def main(argv=None) -> None:
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
