"""Sync against AWS's request quotas, enforced by the emulator over HTTP.

    python benchmarks/bench_quota.py [--registrations 1000] [--scale 20]
        [--anchor-registrations 60] [--write-docs]

What bounds a sync against AWS is the quotas (most registration operations: 1
request per second per account and region), so every figure is set against the
physical lower bound: each operation's requests divided by its quota, the
operations running side by side.

1. *Our full sync at scale*: ``--registrations`` registrations of three versions
   each, every quota multiplied by ``--scale`` so the run stays short (a paced
   sync keeps its shape: the ratio to the bound does not move with the scale).
   Real boto3 clients, the emulator served in a forked process, quotas enforced.
2. *The anchors users reach for, at AWS's own rates* (``--anchor-registrations``,
   scale 1, because botocore's backoff and its adaptive rate limiter run in real
   seconds and do not scale): a plain sequential boto3 loop with standard retries
   (3 attempts) and with adaptive retries (10 attempts), each run again on what
   failed until everything is read; and our sync on the same data.
3. *Events against polling*: after 1% of the registrations change, the requests
   the event path makes (``Synchronizer.handle_event`` for each event the
   emulator emitted) against an incremental polling re-sync.

``--write-docs`` replaces the bench_quota block in ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import sys
import time
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from botocore.config import Config
from mypy_boto3_pinpoint_sms_voice_v2 import PinpointSMSVoiceV2Client

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sync import PAGE_SIZE, SESSION, served
from docs_block import replace_block

from registration_fsm import (
    DEFAULT_QUOTAS,
    Boto3RegistrationApi,
    EmulatedRegistrationApi,
    EventFollower,
    JsonLinesSource,
    MemoryStore,
    Quotas,
    Synchronizer,
)

START, END = "<!-- bench_quota:start -->", "<!-- bench_quota:end -->"
REG_TYPE = "US_TEN_DLC_BRAND_REGISTRATION"
ACCOUNT = "123456789012"
#: What a sync reads; the other operations only build the data.
READS = ("DescribeRegistrations", "DescribeRegistrationVersions", "DescribeRegistrationFieldValues")


def quotas(scale: float) -> Quotas:
    """AWS's defaults times ``scale``; the writes that only build the data out of the way."""
    writes = {op: 1_000_000.0 for op in DEFAULT_QUOTAS if op not in READS}
    return Quotas.of(writes).scaled(scale)


def build(n: int, scale: float) -> EmulatedRegistrationApi:
    """``n`` registrations of three versions (approved, denied, in review)."""
    # No forms: filling 3,000 of them would only slow building the data (a version's
    # values are read all the same, as empty ones).
    api = EmulatedRegistrationApi(seed=1, quotas=quotas(scale), catalog=None)
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


def bound(requests: Mapping[str, int], scale: float) -> float:
    """The physical lower bound: each operation's requests over its quota, in parallel,
    less the requests its full bucket serves at once (the emulator's burst)."""
    rates = quotas(scale).rates(ACCOUNT, "us-east-1")
    return max(
        (max(0.0, n - max(1.0, rates[op])) / rates[op] for op, n in requests.items() if n),
        default=0.0,
    )


def our_sync(url: str, scale: float) -> dict[str, Any]:
    api = Boto3RegistrationApi.from_config(
        session=SESSION, endpoint_url=url, quotas=quotas(scale), account=ACCOUNT
    )
    syncer = Synchronizer(api, MemoryStore(), page_size=PAGE_SIZE)
    started = time.perf_counter()
    report = syncer.sync()
    wall = time.perf_counter() - started
    return {
        "wall": wall,
        "failed": len(report.failed),
        "requests": dict(report.api_calls),
        "bound": bound(report.api_calls, scale),
        "syncer": syncer,
        "api": api,
    }


def boto3_client(
    url: str, mode: Literal["standard", "adaptive"], attempts: int
) -> PinpointSMSVoiceV2Client:
    return SESSION.client(
        "pinpoint-sms-voice-v2",
        endpoint_url=url,
        config=Config(retries={"mode": mode, "total_max_attempts": attempts}),
    )


def plain_loop(sms: PinpointSMSVoiceV2Client) -> dict[str, Any]:
    """What a user writes: list, then describe each registration's versions, one at a
    time, with botocore's retries; run again on what failed until everything is read."""
    errors = sms.exceptions.ThrottlingException
    counted: Counter[str] = Counter()
    sms.meta.events.register(
        "before-send.pinpoint-sms-voice-v2", lambda event_name, **_: counted.update(
            [event_name.rsplit(".", 1)[-1]])
    )  # fmt: skip
    started = time.perf_counter()
    ids: list[str] | None = None
    first_pass_failures: int | None = None
    passes = 0
    todo: list[str] = []
    while ids is None or todo:
        passes += 1
        failures = 0
        if ids is None:
            try:
                pages = sms.get_paginator("describe_registrations").paginate(
                    PaginationConfig={"PageSize": PAGE_SIZE}
                )
                ids = [r["RegistrationId"] for page in pages for r in page["Registrations"]]
                todo = list(ids)
            except errors:
                failures += 1
        left: list[str] = []
        for reg_id in todo:
            try:
                for _ in sms.get_paginator("describe_registration_versions").paginate(
                    RegistrationId=reg_id, PaginationConfig={"PageSize": PAGE_SIZE}
                ):
                    pass
            except errors:
                failures += 1
                left.append(reg_id)
        todo = left
        if first_pass_failures is None:
            first_pass_failures = failures
    return {
        "wall": time.perf_counter() - started,
        "first_pass_failures": first_pass_failures,
        "passes": passes,
        "requests": dict(counted),
    }


def event_path(n: int, scale: float, share: float) -> dict[str, Any]:
    """Requests to follow ``share`` of ``n`` registrations changing: by events (an
    ``EventFollower`` reading the emulator's events) vs polling."""
    emitted: list[dict[str, Any]] = []
    emulator = build(n, scale)
    with served(emulator, 0.0, "thread") as url:
        syncer = our_sync(url, scale)["syncer"]
        api = syncer.api
        changed = sorted(syncer.store.ids())[: max(1, int(n * share))]
        emulator.add_event_sink(emitted.append)
        for reg_id in changed:  # AWS reviews the version each left in AWS review
            emulator.advance(reg_id, "begin_review")
        before = dict(api.calls)
        lines = io.StringIO("".join(json.dumps(event) + "\n" for event in emitted))
        stats = EventFollower(syncer).run(JsonLinesSource(lines))
        if stats.handled != len(emitted):
            raise SystemExit(f"the follower handled {stats.handled} of {len(emitted)} events")
        by_events = _delta(before, api.calls)
        # Polling sees the same changes on a twin store synced before they happened.
        twin = build(n, scale)
        with served(twin, 0.0, "thread") as twin_url:
            polling = our_sync(twin_url, scale)
            for reg_id in changed:
                twin.advance(reg_id, "begin_review")
            before = dict(polling["api"].calls)
            polling["syncer"].sync()
            by_polling = _delta(before, polling["api"].calls)
            before = dict(polling["api"].calls)
            polling["syncer"].sync()  # the next poll: nothing changed since
            idle_poll = _delta(before, polling["api"].calls)
    return {
        "changed": len(changed),
        "events": len(emitted),
        "by_events": by_events,
        "by_polling": by_polling,
        "idle_poll": idle_poll,
    }


def _delta(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    out = {op: n - before.get(op, 0) for op, n in after.items()}
    return {op: n for op, n in out.items() if n}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"args": vars(args)}
    with served(build(args.registrations, args.scale), 0.0, "process") as url:
        out["at_scale"] = our_sync(url, args.scale)
    m = args.anchor_registrations
    with served(build(m, 1), 0.0, "process") as url:
        out["ours_1"] = our_sync(url, 1)
    with served(build(m, 1), 0.0, "process") as url:
        out["standard"] = plain_loop(boto3_client(url, "standard", 3))
    with served(build(m, 1), 0.0, "process") as url:
        out["adaptive"] = plain_loop(boto3_client(url, "adaptive", 10))
    out["events"] = event_path(args.registrations, args.scale, 0.01)
    return out


def _calls(requests: Mapping[str, int]) -> str:
    return ", ".join(f"{op} {n}" for op, n in sorted(requests.items()))


def report(m: dict[str, Any]) -> str:
    a = m["args"]
    s, o1, std, ada, ev = m["at_scale"], m["ours_1"], m["standard"], m["adaptive"], m["events"]
    n, anchor = a["registrations"], a["anchor_registrations"]
    anchor_bound = o1["bound"]
    per_reg = sum(s["requests"].values()) / n
    lines = [
        START,
        f"Measured {datetime.now(UTC):%Y-%m-%d} on Python {platform.python_version()} "
        f"({platform.machine()}): the emulator enforcing AWS's default quotas (1 request "
        f"per second per operation) over HTTP from a forked process; real boto3 clients.",
        "",
        "| measure | result | lower bound (requests ÷ quota) | ratio | target |",
        "|---|---|---|---|---|",
        f"| our full sync, {n:,} registrations x 3 versions, quotas x{a['scale']:g} | "
        f"{s['wall']:.1f} s, {s['failed']} failed | {s['bound']:.1f} s | "
        f"{s['wall'] / s['bound']:.2f}x | <= 1.10x, 0 failures |",
        f"| its requests ({per_reg:.2f} per registration) | {_calls(s['requests'])} | | | |",
        f"| our full sync, {anchor} registrations, AWS's own rates | "
        f"{o1['wall']:.1f} s, {o1['failed']} failed | {anchor_bound:.1f} s | "
        f"{o1['wall'] / anchor_bound:.2f}x | <= 1.10x, 0 failures |",
        f"| plain boto3 loop, standard retries (3 attempts), same data | "
        f"{std['first_pass_failures']} of {anchor} failed in pass 1; complete after "
        f"{std['passes']} passes, {std['wall']:.1f} s | {anchor_bound:.1f} s | "
        f"{std['wall'] / anchor_bound:.2f}x | (an anchor) |",
        f"| plain boto3 loop, adaptive retries (10 attempts), same data | "
        f"{ada['first_pass_failures']} of {anchor} failed in pass 1; complete after "
        f"{ada['passes']} passes, {ada['wall']:.1f} s | {anchor_bound:.1f} s | "
        f"{ada['wall'] / anchor_bound:.2f}x; ours {ada['wall'] / o1['wall']:.1f}x faster | "
        f">= 2x faster than adaptive |",
        f"| 1% of {n:,} changed ({ev['changed']}): requests by the event path "
        f"({ev['events']} events) | {_calls(ev['by_events'])} "
        f"({sum(ev['by_events'].values()) / max(ev['changed'], 1):.1f} per change) | "
        f"polling re-sync: {_calls(ev['by_polling'])}; every later poll, nothing changed: "
        f"{_calls(ev['idle_poll'])} (events: none) | | <= 2 per change |",
        END,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--registrations", type=int, default=1000)
    parser.add_argument("--scale", type=float, default=20.0)
    parser.add_argument("--anchor-registrations", type=int, default=60)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    text = report(measure(args))
    print(text)
    if args.write_docs:
        replace_block(START, END, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
