"""The client's CPU cost of a sync, against a naive sequential boto3 loop, over HTTP.

Quotas are off on both sides here: this measures what a request costs the client
(botocore, reconcile, the store), with ``--latency`` standing in for the network.
Against AWS a sync is bound by the quotas instead: ``benchmarks/bench_quota.py``.

    python benchmarks/bench_sync.py [--registrations 1000] [--latency 0.01]
        [--concurrency 32] [--repeat 3] [--sweep 8,16,32,64] [--write-docs]

An :class:`EmulatedRegistrationApi` is filled with ``--registrations``
registrations of three versions each (through its API methods and ``advance``),
then served over HTTP with ``--latency`` seconds injected into every request.
Both contenders use real boto3 clients on 127.0.0.1:

1. *full sync*: ``Synchronizer.sync()`` into an empty store, so every registration
   is described: DescribeRegistrations pages, then DescribeRegistrationVersions
   for each registration, ``--concurrency`` at once, reconciled and saved;
2. *naive loop*: the same reads, one request after the other (paginators,
   nothing reconciled or saved);
3. *re-sync*: a second ``sync()`` with nothing changed, and the requests it makes.

Each contender runs ``--repeat`` times, alternating, and the median is taken. The
server runs in a forked child process (``--server process``, the default where
fork exists) so that its work does not share the client's interpreter lock; use
``--server thread`` to serve in this process. ``--write-docs`` replaces the block
between the bench_sync markers in ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from docs_block import replace_block
from mypy_boto3_pinpoint_sms_voice_v2 import PinpointSMSVoiceV2Client

from registration_fsm import (
    Boto3RegistrationApi,
    EmulatedRegistrationApi,
    EmulatorServer,
    Faults,
    MemoryStore,
    Synchronizer,
)

START, END = "<!-- bench_sync:start -->", "<!-- bench_sync:end -->"
REG_TYPE = "US_TEN_DLC_BRAND_REGISTRATION"
PAGE_SIZE = 100
SESSION = boto3.session.Session(
    aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
)


def build(n: int) -> EmulatedRegistrationApi:
    """``n`` registrations, each with three versions: approved, denied, in review."""
    api = EmulatedRegistrationApi(seed=1, quotas=None, catalog=None)  # no forms to fill
    for _ in range(n):
        reg_id = api.create_registration(REG_TYPE)["RegistrationId"]
        api.submit_registration_version(reg_id)
        api.advance(reg_id, "begin_review")
        api.advance(reg_id, "approve")
        api.create_registration_version(reg_id)
        api.submit_registration_version(reg_id)
        api.advance(reg_id, "begin_review")
        api.advance(reg_id, "deny", denied_reasons=[{"Reason": "R", "ShortDescription": "S"}])
        api.create_registration_version(reg_id)
        api.submit_registration_version(reg_id, aws_review=True)
    return api


class Server(EmulatorServer):
    """The emulator's HTTP server with a listen backlog for many concurrent clients.

    socketserver's default backlog is 5: with more connections opening at once the
    kernel drops SYNs, and each dropped one costs the client a 1 s retransmit.
    """

    request_queue_size = 128


def _serve_forever(server: Server, pipe: Any) -> None:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    pipe.recv()  # any message (or EOF) stops the server
    server.shutdown()
    thread.join()
    server.server_close()


@contextmanager
def served(api: EmulatedRegistrationApi, latency: float, mode: str) -> Iterator[str]:
    """Serve ``api`` with ``latency`` per request (in a forked process or a thread)."""
    server = Server(api, faults=Faults(latency=latency))
    if mode == "thread":
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        try:
            yield server.url
        finally:
            server.shutdown()
            thread.join()
            server.server_close()
        return
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve_forever, args=(server, child), daemon=True)
    proc.start()
    server.server_close()  # the child serves on its copy of the socket
    try:
        yield server.url
    finally:
        parent.send("stop")
        proc.join(120)  # it stops at once; this only bounds a hung child
        if proc.is_alive():
            proc.terminate()
            proc.join()


def client(url: str, pool: int) -> PinpointSMSVoiceV2Client:
    return SESSION.client(
        "pinpoint-sms-voice-v2",
        endpoint_url=url,
        config=Config(
            retries={"mode": "standard", "total_max_attempts": 3},
            max_pool_connections=pool,
        ),
    )


def naive_loop(sms: PinpointSMSVoiceV2Client) -> int:
    """The same reads, one request at a time; returns the number of versions read."""
    versions = 0
    for page in sms.get_paginator("describe_registrations").paginate(
        PaginationConfig={"PageSize": PAGE_SIZE}
    ):
        for reg in page["Registrations"]:
            for vpage in sms.get_paginator("describe_registration_versions").paginate(
                RegistrationId=reg["RegistrationId"], PaginationConfig={"PageSize": PAGE_SIZE}
            ):
                versions += len(vpage["RegistrationVersions"])
    return versions


def full_sync(api: Boto3RegistrationApi, concurrency: int) -> Synchronizer:
    # field_values="off": the naive loop reads no field values either (the same requests).
    syncer = Synchronizer(
        api, MemoryStore(), concurrency=concurrency, page_size=PAGE_SIZE, field_values="off"
    )
    report = syncer.sync()
    if report.failed or report.unchanged:
        raise SystemExit(f"the full sync did not describe everything: {report.failed}")
    return syncer


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of this process (every thread; the server is not in it
    with ``--server process``)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    api = build(args.registrations)
    built_s = time.perf_counter() - started
    sweep = [int(c) for c in args.sweep.split(",")] if args.sweep else []
    pool = max([args.concurrency, *sweep])
    with served(api, args.latency, args.server) as url:
        adapter = Boto3RegistrationApi(client(url, pool), quotas=None)
        sms = client(url, 1)
        naive_loop(sms)  # warm up both clients (model loading, first connections)
        full_sync(adapter, args.concurrency)
        runs: dict[str, list[tuple[float, float]]] = {"sync": [], "naive": []}
        for _ in range(args.repeat):
            runs["sync"].append(timed(lambda: full_sync(adapter, args.concurrency)))
            runs["naive"].append(timed(lambda: naive_loop(sms)))
        syncer = full_sync(adapter, args.concurrency)
        resync_s, _ = timed(syncer.sync)
        resync = syncer.sync()
        swept = {c: timed(functools.partial(full_sync, adapter, c))[0] for c in sweep}
        adapter.client.close()
        sms.close()
    extra = {}
    for latency in args.extra_latency:
        with served(api, latency, args.server) as url:
            adapter = Boto3RegistrationApi(client(url, pool), quotas=None)
            sms = client(url, 1)
            full_sync(adapter, args.concurrency)  # warm up
            extra[latency * 1000] = (
                timed(functools.partial(full_sync, adapter, args.concurrency))[0],
                timed(functools.partial(naive_loop, sms))[0],
            )
            adapter.client.close()
            sms.close()
    versions = sum(len(r.versions) for r in syncer.registrations())
    (sync_s, sync_cpu), (naive_s, naive_cpu) = median(runs["sync"]), median(runs["naive"])
    return {
        "n": args.registrations,
        "versions": versions,
        "latency_ms": args.latency * 1000,
        "concurrency": args.concurrency,
        "repeat": args.repeat,
        "server": args.server,
        "built_s": built_s,
        "sync_s": sync_s,
        "sync_cpu": sync_cpu,
        "naive_s": naive_s,
        "naive_cpu": naive_cpu,
        "speedup": naive_s / sync_s,
        "resync_s": resync_s,
        "resync_calls": dict(resync.api_calls),
        "resync_events": len(resync.events),
        "pages": -(-args.registrations // PAGE_SIZE),
        "requests": -(-args.registrations // PAGE_SIZE) + args.registrations,
        "sweep": swept,
        "extra": extra,
    }


def report(m: dict[str, Any]) -> str:
    calls = ", ".join(f"{op} {n}" for op, n in sorted(m["resync_calls"].items())) or "none"
    only_pages = m["resync_calls"] == {"DescribeRegistrations": m["pages"]}
    lines = [
        START,
        f"Measured {datetime.now(UTC):%Y-%m-%d} on Python {platform.python_version()} "
        f"({platform.machine()}): {m['n']:,} registrations, {m['versions']:,} versions, "
        f"{m['latency_ms']:.0f} ms injected per request, emulator served over HTTP "
        f"({'a forked process' if m['server'] == 'process' else 'a thread of this process'}), "
        f"real boto3 clients; median of {m['repeat']} alternating runs.",
        "",
        "| measure | sync | baseline | result | target |",
        "|---|---|---|---|---|",
        f"| full sync (concurrency {m['concurrency']}, no quotas) vs naive sequential boto3 "
        f"loop | {m['sync_s']:.2f} s | {m['naive_s']:.2f} s | {m['speedup']:.1f}x faster | "
        f"(no target: latency only, see bench_quota) |",
        f"| client CPU (this process, all threads) during the above | {m['sync_cpu']:.2f} s | "
        f"{m['naive_cpu']:.2f} s | {m['sync_cpu'] / m['sync_s']:.0%} of the sync's wall time | "
        f"(explains the ratio) |",
        f"| requests per client CPU-second | {m['requests'] / m['sync_cpu']:.0f} | "
        f"{m['requests'] / m['naive_cpu']:.0f} | the sync also reconciles and saves | "
        f"(the CPU cost) |",
        f"| re-sync with nothing changed: requests made | {calls} | "
        f"{m['pages']} DescribeRegistrations pages | {m['resync_events']} events, "
        f"{m['resync_s']:.2f} s, {'only the pages' if only_pages else 'MORE than the pages'} | "
        f"only the DescribeRegistrations pages |",
    ]
    for latency_ms, (sync_s, naive_s) in m["extra"].items():
        lines.append(
            f"| same at {latency_ms:.0f} ms per request (one run each) | {sync_s:.2f} s | "
            f"{naive_s:.2f} s | {naive_s / sync_s:.1f}x faster | (for comparison) |"
        )
    if m["sweep"]:
        lines += [
            "",
            "Full sync by concurrency (one run each): "
            + ", ".join(f"{c}: {s:.2f} s" for c, s in m["sweep"].items())
            + ".",
        ]
    lines.append(END)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--registrations", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.010, help="seconds per request")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sweep", default="", help="also time these concurrencies, e.g. 8,16")
    parser.add_argument(
        "--extra-latency",
        type=float,
        action="append",
        default=[],
        help="also compare once at this latency (seconds; repeatable)",
    )
    default_server = "process" if "fork" in multiprocessing.get_all_start_methods() else "thread"
    parser.add_argument("--server", choices=("process", "thread"), default=default_server)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    text = report(measure(args))
    print(text)
    if args.write_docs:
        replace_block(START, END, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
