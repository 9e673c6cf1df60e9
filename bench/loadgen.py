"""A small HTTP/1.1 keep-alive load generator (asyncio streams), run as its own process.

Usage: python bench/loadgen.py PORT CONNECTIONS SECONDS URLS_FILE [TOKEN_FILE]
URLS_FILE has one path per line; TOKEN_FILE (optional) one bearer token per line, paired by index.
Prints one JSON object: requests, errors, seconds, rps, p50_ms, p99_ms.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


async def worker(port: int, requests: list[bytes], deadline: float, offset: int, latencies: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    try:
        while time.perf_counter() < deadline:
            request = requests[i % len(requests)]
            i += 7
            start = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value.strip())
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if not status_line.startswith(b"HTTP/1.1 2"):
                errors.append(int(status_line.split()[1]))
    finally:
        writer.close()


async def run(port: int, connections: int, seconds: float, paths: list[str], tokens: list[str]) -> dict:
    requests = []
    for n, path in enumerate(paths):
        headers = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\n"
        if tokens:
            headers += f"Authorization: Bearer {tokens[n % len(tokens)]}\r\n"
        requests.append((headers + "\r\n").encode())
    latencies: list[float] = []
    errors: list[int] = []
    warm_deadline = time.perf_counter() + 1.0
    await asyncio.gather(*(worker(port, requests, warm_deadline, c, [], []) for c in range(connections)))
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(*(worker(port, requests, deadline, c * 13, latencies, errors) for c in range(connections)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else None  # noqa: E731
    return {"requests": len(latencies), "errors": len(errors), "error_statuses": sorted(set(errors))[:5], "seconds": round(elapsed, 2), "rps": round(len(latencies) / elapsed, 1), "p50_ms": round(pick(0.50), 2), "p99_ms": round(pick(0.99), 2)}


def main() -> None:
    port, connections, seconds, urls_file = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    paths = [line.strip() for line in open(urls_file, encoding="utf-8") if line.strip()]
    tokens = [line.strip() for line in open(sys.argv[5], encoding="utf-8") if line.strip()] if len(sys.argv) > 5 else []
    print(json.dumps(asyncio.run(run(port, connections, seconds, paths, tokens))))


if __name__ == "__main__":
    main()
