"""Benchmark the HTTP API on loopback: a package uploaded over HTTP against the CLI's submit of
the same file, and small authenticated reads by 32 concurrent clients against a bare FastAPI
endpoint served the same way in the same run.

Every server is `clearwatch serve` (or uvicorn for the bare endpoint) in a child process bound
to 127.0.0.1, stopped at the end; every request count and wait is bounded.

    .venv/bin/python bench/api.py --rows 100000 --requests 4000    # quick
    .venv/bin/python bench/api.py                                  # 1,000,000 rows, 20,000 reads
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
DATA_DEFAULT = ROOT / "bench" / "data" / "api"
sys.path.insert(0, str(ROOT))  # the tests' store helpers and bench/submit.py's generator

server_start_seconds_max = 120
upload_timeout_seconds = 1800
read_timeout_seconds = 30
warmup_requests = 200
clients = 32


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CLEARWATCH_")}
    return {**env, "CLEARWATCH_HOME": str(home), "XDG_CONFIG_HOME": str(home / "config")}


def _cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and its children that ended or run (Linux /proc)."""
    pids = [pid, *(int(child) for child in _children(pid))]
    total = 0
    for each in pids:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


_served: dict[str, int] = {}  # base URL → the server's pid, for its CPU time


@contextmanager
def _server(command: list[str], env: dict[str, str]) -> Iterator[str]:
    """A child process serving on a free loopback port until the block ends; its base URL."""
    port = _free_port()
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + server_start_seconds_max
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {command}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        _served[base] = process.pid
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _serve_command(*extra: str) -> list[str]:
    return [sys.executable, "-m", "clearwatch.entrypoints.cli", "serve", "--no-access-log", *extra]


def _store(home: Path, *, world: bool) -> dict[str, str]:
    """A fresh store under `home` with the registry (and the day's market when `world`); the
    bearer headers of B001's submitter and of the CITY-SZ bureau's analyst."""
    from tests.api.support import approve_warnings, bearer, load_world, person
    from tests.integration.monitor.conftest import load
    from tests.support.packages import write_registry

    from clearwatch.bootstrap import build_application
    from clearwatch.config import Settings
    from clearwatch.domain.access.roles import Role

    shutil.rmtree(home, ignore_errors=True)
    app = build_application(Settings.from_environment(_env(home)))
    app.init_schema()
    if world:
        load_world(app, home / "market")
        approve_warnings(app)  # a bureau reads released warnings only
    else:
        load(app, write_registry(home / "registry"))
    tokens = {
        "submitter": bearer(app, person(app, "B001", Role.SUBMITTER), minutes=600),
        "bureau": bearer(app, person(app, "CITY-SZ", Role.BUREAU_ANALYST), minutes=600),
    }
    app.dispose()
    return {name: headers["Authorization"] for name, headers in tokens.items()}


def _tar(package: Path, archive: Path) -> float:
    started = time.perf_counter()
    with tarfile.open(archive, "w") as tar:
        for path in sorted(package.iterdir()):
            tar.add(path, arcname=path.name)
    return time.perf_counter() - started


def measure_upload(data: Path, rows: int) -> dict[str, Any]:
    """The same package: `clearwatch monitor submit` in a fresh store, then uploaded to
    `clearwatch serve` over a fresh store; wall seconds of each as a user sees them."""
    from submit import generate  # bench/submit.py: this script's folder is on sys.path

    package = generate(data / f"package-{rows}", "broker_daily", rows, "utf-8")
    size_mb = sum(p.stat().st_size for p in package.iterdir()) / 1e6
    cli_home = data / "cli-home"
    token = _store(cli_home, world=False)["submitter"]
    env = {**_env(cli_home), "CLEARWATCH_TOKEN": token.removeprefix("Bearer ")}
    started = time.perf_counter()
    submitted = subprocess.run(
        [sys.executable, "-m", "clearwatch.entrypoints.cli", "monitor", "submit", str(package)],
        env=env, capture_output=True, text=True, timeout=upload_timeout_seconds, check=False,
    )  # fmt: skip
    cli_seconds = time.perf_counter() - started
    cli_status = json.loads(submitted.stdout.splitlines()[-1])["status"]
    # The use case alone in a warmed-up process: what HTTP adds to it.
    service = subprocess.run(
        [sys.executable, __file__, "--service", str(package), "--data", str(data)],
        capture_output=True, text=True, timeout=upload_timeout_seconds, check=True,
    )  # fmt: skip
    service_seconds = float(service.stdout.splitlines()[-1])
    api_home = data / "api-home"
    token = _store(api_home, world=False)["submitter"]
    archive = data / "package.tar"
    tar_seconds = _tar(package, archive)
    with _server(_serve_command(), _env(api_home)) as base, archive.open("rb") as body:
        _warm_up(base, token, data)
        started = time.perf_counter()
        answer = httpx.post(
            f"{base}/api/v1/packages",
            content=body,
            headers={"Authorization": token, "Content-Type": "application/x-tar"},
            timeout=upload_timeout_seconds,
        )
        api_seconds = time.perf_counter() - started
    leftovers = (cli_home, api_home, data / "service-home", data / "warm-up", package, archive)
    for leftover in leftovers:
        shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink()
    return {
        "rows": rows,
        "mb": size_mb,
        "cli_status": cli_status,
        "cli_seconds": cli_seconds,
        "service_seconds": service_seconds,
        "api_status": answer.json().get("status"),
        "api_seconds": api_seconds,
        "tar_seconds": tar_seconds,
    }


def _small_package(data: Path) -> Path:
    """A ten-row package of the day before: the warm-up, so that lazy imports and first
    compiles are not timed, in the server as in the use case alone."""
    from submit import generate

    small = generate(data / "warm-up", "broker_daily", 10, "utf-8")
    manifest = json.loads((small / "manifest.json").read_text())
    (small / "manifest.json").write_text(json.dumps({**manifest, "business_date": "2026-11-19"}))
    return small


def _warm_up(base: str, token: str, data: Path) -> None:
    archive = data / "warm-up.tar"
    _tar(_small_package(data), archive)
    answer = httpx.post(
        f"{base}/api/v1/packages",
        content=archive.read_bytes(),
        headers={"Authorization": token},
        timeout=upload_timeout_seconds,
    )
    assert answer.json()["status"] == "accepted", answer.text
    archive.unlink()


def service_seconds(package: Path, data: Path) -> float:
    """`submit_package` itself, as B001's submitter, after a warm-up in the same process."""
    from tests.api.support import person

    from clearwatch.bootstrap import build_application
    from clearwatch.config import Settings
    from clearwatch.domain.access.callers import local_caller
    from clearwatch.domain.access.roles import Role
    from clearwatch.services.monitor.submit_package import submit_package

    home = data / "service-home"
    _store(home, world=False)
    app = build_application(Settings.from_environment(_env(home)))
    gate = app.gate(local_caller(person(app, "B001", Role.SUBMITTER)))
    for directory in (_small_package(data), package):
        started = time.perf_counter()
        receipt = submit_package(directory=str(directory), context=app.submit_context(), gate=gate)
        seconds = time.perf_counter() - started
        assert receipt.status.value == "accepted", receipt.to_json()
    return seconds


async def _hammer(url: str, headers: dict[str, str], requests: int) -> tuple[float, list[float]]:
    """`requests` GETs by `clients` concurrent keep-alive connections; wall seconds and each
    latency. The client is a few lines of asyncio, not httpx: on a two-core machine a heavy
    client would eat the CPU the server is measured on."""
    parsed = httpx.URL(url)
    target = parsed.raw_path.decode()
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = f"GET {target} HTTP/1.1\r\nHost: {parsed.host}\r\n{head}\r\n".encode()
    latencies: list[float] = []
    remaining = iter(range(requests))

    async def one_client() -> None:
        reader, writer = await asyncio.open_connection(parsed.host, parsed.port)
        try:
            for _ in remaining:
                started = time.perf_counter()
                writer.write(request)
                status = await asyncio.wait_for(_response_status(reader), read_timeout_seconds)
                if status != 200:
                    raise RuntimeError(f"{url}: HTTP {status}")
                latencies.append(time.perf_counter() - started)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(clients)))
    return time.perf_counter() - started, latencies


async def _response_status(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response with a Content-Length body; its status."""
    header = await reader.readuntil(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    length = next(
        int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")
    )
    await reader.readexactly(length)
    return int(lines[0].split(" ", 2)[1])


def _measured(url: str, headers: dict[str, str], requests: int) -> dict[str, float]:
    """Throughput and latencies; and CPU per request of the server (its workers too) and of
    this client: unlike the wall figures, these hardly move with what else the machine runs."""
    asyncio.run(_hammer(url, headers, warmup_requests))  # connections, caches, first compiles
    # This process built the store and imported the system: a full collection of that heap
    # while requests are in flight would be counted as the server's latency.
    gc.collect()
    gc.freeze()
    server = _served[str(httpx.URL(url).copy_with(path="/", query=None)).rstrip("/")]
    server_before, client_before = _cpu_seconds(server), time.process_time()
    figures = _read_figures(*asyncio.run(_hammer(url, headers, requests)))
    figures["server_cpu_us"] = (_cpu_seconds(server) - server_before) / requests * 1e6
    figures["client_cpu_us"] = (time.process_time() - client_before) / requests * 1e6
    return figures


def _read_figures(wall: float, latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "requests_per_second": len(ordered) / wall,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000,
    }


def measure_reads(data: Path, requests: int, workers: int) -> dict[str, dict[str, float]]:
    """Warnings of one bureau (CITY-SZ, whose analyst signs) against a bare endpoint."""
    home = data / "reads-home"
    token = _store(home, world=True)["bureau"]
    headers = {"Authorization": token}
    figures = {}
    bare = [sys.executable, __file__, "--bare"]
    with _server(bare, _env(home)) as base:
        figures["bare FastAPI endpoint"] = _measured(f"{base}/bare", {}, requests)
    for count in sorted({1, workers}):
        with _server(_serve_command("--workers", str(count)), _env(home)) as base:
            url = f"{base}/api/v1/warnings?bureau=CITY-SZ"
            shown = httpx.get(url, headers=headers, timeout=read_timeout_seconds).json()
            assert [w["institution_id"] for w in shown] == ["B002"], shown
            name = f"GET /api/v1/warnings?bureau=CITY-SZ, {count} worker(s)"
            figures[name] = _measured(url, headers, requests)
    shutil.rmtree(home, ignore_errors=True)
    return figures


def serve_bare(port: int) -> None:
    """The baseline: one FastAPI route answering a small JSON list, on uvicorn, no store."""
    import uvicorn
    from fastapi import FastAPI

    bare = FastAPI()

    @bare.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @bare.get("/bare")
    def small() -> list[dict[str, object]]:
        return [{"institution_id": "B002", "level": "major", "problem_amount": "500.00"}]

    uvicorn.run(bare, host="127.0.0.1", port=port, access_log=False, log_level="warning")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2, help="also measure this many workers")
    parser.add_argument("--data", type=Path, default=DATA_DEFAULT)
    parser.add_argument("--skip-upload", action="store_true")
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--service", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        serve_bare(args.port)
        return
    if args.service:
        print(service_seconds(args.service, args.data))
        return
    args.data.mkdir(parents=True, exist_ok=True)
    if not args.skip_upload:
        up = measure_upload(args.data, args.rows)
        cli_rate, api_rate = up["rows"] / up["cli_seconds"], up["rows"] / up["api_seconds"]
        service_rate = up["rows"] / up["service_seconds"]
        print(
            "| rows | MB | CLI submit s (rows/s) | HTTP upload s (rows/s) "
            "| HTTP/CLI rows/s | use case alone s | HTTP/use case rows/s |"
        )
        print("|---|---|---|---|---|---|---|")
        print(
            f"| {up['rows']:,} | {up['mb']:,.0f} | {up['cli_seconds']:.2f} ({cli_rate:,.0f}) "
            f"| {up['api_seconds']:.2f} ({api_rate:,.0f}) | {api_rate / cli_rate:.2f} "
            f"| {up['service_seconds']:.2f} | {api_rate / service_rate:.2f} |",
            flush=True,
        )
        print(f"(CLI {up['cli_status']}, HTTP {up['api_status']}; tar {up['tar_seconds']:.2f} s)")
    print(f"\n{args.requests:,} requests by {clients} concurrent clients:\n")
    print(f"(load average {os.getloadavg()[0]:.1f} at the start)\n")
    print("| endpoint | requests/s | p50 ms | p99 ms | server CPU µs/request | client CPU µs |")
    print("|---|---|---|---|---|---|")
    for name, figures in measure_reads(args.data, args.requests, args.workers).items():
        print(
            f"| {name} | {figures['requests_per_second']:,.0f} | {figures['p50_ms']:.1f} "
            f"| {figures['p99_ms']:.1f} | {figures['server_cpu_us']:,.0f} "
            f"| {figures['client_cpu_us']:,.0f} |",
            flush=True,
        )
    print(f"(load average {os.getloadavg()[0]:.1f} at the end)")


if __name__ == "__main__":
    main()
