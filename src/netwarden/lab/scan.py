"""A bounded TCP connect scan, run inside a lab node by ``lab fault port-scan``.

``python -m netwarden.lab.scan TARGET --ports 1-1024``: every port is tried
once, at most ``--concurrency`` at a time, each for at most ``--timeout``
seconds, so the scan ends by itself; open ports are printed one per line.
"""

from __future__ import annotations

import argparse
import asyncio


async def _probe(target: str, port: int, timeout: float, gate: asyncio.Semaphore) -> int | None:
    async with gate:
        try:
            _reader, writer = await asyncio.wait_for(asyncio.open_connection(target, port), timeout)
        except (OSError, TimeoutError):
            return None
        writer.close()
        return port


async def scan(target: str, ports: range, timeout: float, concurrency: int) -> list[int]:
    gate = asyncio.Semaphore(concurrency)
    found = await asyncio.gather(*(_probe(target, p, timeout, gate) for p in ports))
    return [p for p in found if p is not None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target")
    parser.add_argument("--ports", default="1-1024")
    parser.add_argument("--timeout", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()
    low, _, high = args.ports.partition("-")
    ports = range(int(low), int(high or low) + 1)
    for port in asyncio.run(scan(args.target, ports, args.timeout, args.concurrency)):
        print(port)


if __name__ == "__main__":
    main()
