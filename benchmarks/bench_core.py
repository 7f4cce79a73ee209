"""Benchmark the lifecycle core against baselines measured in the same run.

    python benchmarks/bench_core.py [--versions 100000] [--repeat 5] [--write-docs]

Measures, each as a ratio to its baseline (median of ``--repeat`` runs,
alternating contender and baseline, under the same garbage-collector setting):

1. hydrating versions from boto3-shaped dicts (local-zone datetimes) with
   ``RegistrationVersion.from_api`` vs a plain attrs class that copies the same
   fields without validation, and vs the transitions Machine-per-model idiom
   (measured on a tenth of the versions and scaled);
2. memory per version (tracemalloc) for ours and Machine-per-model;
3. one command on a one-version registration — ``Registration.submit()`` and
   ``Registration.fire("submit")`` (every check, status, timestamp, event) — vs a
   raw ``trigger`` of the same event on the shared ``LIFECYCLE.machine`` with a
   bare model.

``--write-docs`` replaces the generated block in ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from botocore.utils import parse_timestamp as _parse_timestamp
from docs_block import replace_block
from transitions import Machine

from registration_fsm import LIFECYCLE, Registration, RegistrationVersion, VersionStatus
from registration_fsm.domain.lifecycle import _machine_transitions

REG_ID = "registration-0123456789abcdef0123456789abcdef"
REG_ARN = f"arn:aws:sms-voice:us-east-1:123456789012:registration/{REG_ID}"
START, END = "<!-- bench_core:start -->", "<!-- bench_core:end -->"


#: botocore's timestamp parser (typed for strings by the stubs; it takes epoch numbers too).
parse_timestamp: Callable[[float], datetime] = _parse_timestamp  # type: ignore[assignment]


def boto3_dicts(n: int) -> list[dict[str, Any]]:
    """RegistrationVersionInformation as boto3 returns it: botocore's own parser turns
    the wire's epoch seconds into local-zone datetimes (dateutil ``tzlocal``)."""
    base = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    out = []
    for i in range(n):
        t = base + i
        out.append(
            {
                "VersionNumber": i % 100_000 + 1,
                "RegistrationVersionStatus": "APPROVED",
                "RegistrationVersionStatusHistory": {
                    "DraftTimestamp": parse_timestamp(t),
                    "SubmittedTimestamp": parse_timestamp(t + 60),
                    "ReviewingTimestamp": parse_timestamp(t + 120),
                    "ApprovedTimestamp": parse_timestamp(t + 180),
                },
            }
        )
    return out


@attrs.define(slots=True)
class PlainVersion:
    """The baseline: the same fields, copied without validation or conversion."""

    registration_id: str
    registration_arn: str
    number: int
    status: str
    history: dict[str, datetime]
    denied_reasons: tuple[Any, ...]
    feedback: str | None


def plain(d: dict[str, Any]) -> PlainVersion:
    return PlainVersion(
        REG_ID,
        REG_ARN,
        d["VersionNumber"],
        d["RegistrationVersionStatus"],
        dict(d["RegistrationVersionStatusHistory"]),
        tuple(d.get("DeniedReasons", ())),
        d.get("Feedback"),
    )


def ours(d: dict[str, Any]) -> RegistrationVersion:
    return RegistrationVersion.from_api(d, registration_id=REG_ID, registration_arn=REG_ARN)


class MachineModel:
    """A model carrying its own transitions Machine (the idiom issue #434 measures)."""

    def __init__(self, d: dict[str, Any]) -> None:
        self.data = d
        self.machine = Machine(
            model=self,
            states=list(VersionStatus),
            transitions=_machine_transitions(LIFECYCLE.edges),
            initial=VersionStatus(d["RegistrationVersionStatus"]),
            auto_transitions=False,
            model_attribute="status",
        )


def timed(fn: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def alternate(contenders: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median seconds of each contender, run in turn ``repeat`` times (GC on for all)."""
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(repeat):
        for name, fn in contenders.items():
            times[name].append(timed(fn))
    return {k: statistics.median(v) for k, v in times.items()}


def memory_per_item(
    build: Callable[[list[dict[str, Any]]], list[Any]], data: list[dict[str, Any]]
) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    items = build(data)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    size = sum(s.size_diff for s in after.compare_to(before, "filename"))
    del items
    return size / len(data)


def bench_hydrate(n: int, repeat: int) -> dict[str, float]:
    data = boto3_dicts(n)
    small = data[: max(n // 10, 1)]
    medians = alternate(
        {
            "plain": lambda: [plain(d) for d in data],
            "ours": lambda: [ours(d) for d in data],
            "machine_per_model": lambda: [MachineModel(d) for d in small],
        },
        repeat,
    )
    medians["machine_per_model"] *= n / len(small)  # scaled to n
    mem_data = data[: min(n, 20_000)]
    return {
        "n": n,
        "plain_s": medians["plain"],
        "ours_s": medians["ours"],
        "machine_per_model_s": medians["machine_per_model"],
        "ours_vs_plain": medians["ours"] / medians["plain"],
        "machine_vs_ours": medians["machine_per_model"] / medians["ours"],
        "ours_bytes": memory_per_item(lambda ds: [ours(d) for d in ds], mem_data),
        "plain_bytes": memory_per_item(lambda ds: [plain(d) for d in ds], mem_data),
        "machine_bytes": memory_per_item(lambda ds: [MachineModel(d) for d in ds], mem_data[:2000]),
    }


class RawModel:
    __slots__ = ("status",)

    def __init__(self) -> None:
        self.status = VersionStatus.DRAFT


def bench_trigger(n: int, repeat: int) -> dict[str, float]:
    """``submit`` on ``n`` one-version registrations, through the typed command and
    through ``fire``, vs the raw trigger on the shared machine; only the loop is timed."""
    submit = LIFECYCLE.machine.events["submit"]
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    at = t0 + timedelta(minutes=1)

    def clock() -> datetime:
        return at

    def fresh() -> list[Registration]:
        return [Registration.new(REG_ID, REG_ARN, "T", clock=lambda: t0) for _ in range(n)]

    def run_submit() -> None:
        registrations = fresh()
        start = time.perf_counter()
        for r in registrations:
            r.submit(clock=clock)
        results["submit"].append(time.perf_counter() - start)
        assert registrations[-1].current_version.status is VersionStatus.SUBMITTED

    def run_fire() -> None:
        registrations = fresh()
        start = time.perf_counter()
        for r in registrations:
            r.fire("submit", clock=clock)
        results["fire"].append(time.perf_counter() - start)
        assert registrations[-1].current_version.status is VersionStatus.SUBMITTED

    def run_raw() -> None:
        models = [RawModel() for _ in range(n)]
        start = time.perf_counter()
        for m in models:
            submit.trigger(m)
        results["raw"].append(time.perf_counter() - start)
        assert models[-1].status is VersionStatus.SUBMITTED

    results: dict[str, list[float]] = {"submit": [], "fire": [], "raw": []}
    for _ in range(repeat):
        for run in (run_submit, run_fire, run_raw):
            gc.collect()
            run()
    medians = {k: statistics.median(v) for k, v in results.items()}
    return {
        "n": n,
        "submit_us": medians["submit"] / n * 1e6,
        "fire_us": medians["fire"] / n * 1e6,
        "raw_us": medians["raw"] / n * 1e6,
        "submit_ratio": medians["submit"] / medians["raw"],
        "fire_ratio": medians["fire"] / medians["raw"],
    }


def report(h: dict[str, float], t: dict[str, float], repeat: int) -> str:
    return "\n".join(
        [
            START,
            f"Measured {datetime.now(UTC):%Y-%m-%d} on Python {platform.python_version()} "
            f"({platform.machine()}), median of {repeat} alternating runs, GC enabled for all.",
            "",
            "| measure | ours | baseline | ratio | target |",
            "|---|---|---|---|---|",
            f"| hydrate {h['n']:,.0f} versions from boto3 dicts | {h['ours_s']:.3f} s | "
            f"plain attrs copy {h['plain_s']:.3f} s | {h['ours_vs_plain']:.2f}x | "
            f"<= 5x (stretch 3x) |",
            f"| same, vs Machine-per-model (scaled from {h['n'] / 10:,.0f}) | "
            f"{h['ours_s']:.3f} s | "
            f"{h['machine_per_model_s']:.2f} s | {h['machine_vs_ours']:.0f}x faster | "
            f">= 20x faster |",
            f"| memory per version (tracemalloc) | {h['ours_bytes']:.0f} B | "
            f"plain {h['plain_bytes']:.0f} B; Machine-per-model {h['machine_bytes']:,.0f} B | "
            f"{h['ours_bytes'] / 1024:.2f} KiB | <= 1 KiB |",
            f"| one `Registration.submit()` (checks, timestamp, event) vs raw shared-machine "
            f"trigger | {t['submit_us']:.1f} us | {t['raw_us']:.1f} us | "
            f"{t['submit_ratio']:.2f}x | <= 1.5x |",
            f'| same through `fire("submit")` | {t["fire_us"]:.1f} us | {t["raw_us"]:.1f} us | '
            f"{t['fire_ratio']:.2f}x | <= 1.5x |",
            END,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--triggers", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    hydrate = bench_hydrate(args.versions, args.repeat)
    trigger = bench_trigger(args.triggers, args.repeat)
    text = report(hydrate, trigger, args.repeat)
    print(text)
    if args.write_docs:
        replace_block(START, END, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
