"""A synchronizer in its own process whose every store save waits for the parent's go.

``python -m helpers.racer SPEC`` (``tests`` on ``PYTHONPATH``); SPEC is JSON:
``{"store": PATH, "url": EMULATOR_URL, "action": "submit" | "sync",
"registration_id": ID, "actor": NAME, "retries": N}``.

Lines printed, and what the parent answers on standard input:

- ``ready``: the client and the store are built; the parent answers ``start``.
- ``saving EXPECTED``: a save is about to be written (EXPECTED: the revision it
  expects); the parent answers ``go``. Then ``saved REVISION`` or
  ``stale EXPECTED FOUND`` (the store's optimistic check refused it).
- ``result JSON``: what the action returned (``ok``, the event or the report, or
  the error's type and message); the process then exits 0.

The parent thereby orders two processes' saves to one SQLite file exactly.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from registration_fsm import Registration, RegistrationError, TransitionEvent
from registration_fsm.adapters.boto3_api import Boto3RegistrationApi
from registration_fsm.errors import StaleWrite
from registration_fsm.store import SQLiteStore
from registration_fsm.store.base import UNCHECKED, ExpectedRevision
from registration_fsm.sync import Synchronizer


def say(line: str) -> None:
    print(line, flush=True)


def wait_for(word: str) -> None:
    line = sys.stdin.readline().strip()
    if line != word:
        raise SystemExit(f"racer: expected {word!r} from the parent, got {line!r}")


class GatedStore(SQLiteStore):
    """Each save announces itself and waits for the parent's ``go``."""

    def save(
        self,
        registration: Registration,
        events: Iterable[TransitionEvent] = (),
        *,
        summary: Mapping[str, Any] | None = None,
        expected_revision: ExpectedRevision = UNCHECKED,
        resolves: Iterable[int] = (),
    ) -> int:
        say(f"saving {expected_revision}")
        wait_for("go")
        try:
            revision = super().save(
                registration,
                events,
                summary=summary,
                expected_revision=expected_revision,
                resolves=resolves,
            )
        except StaleWrite as err:
            say(f"stale {err.expected} {err.found}")
            raise
        say(f"saved {revision}")
        return revision


def run(spec: Mapping[str, Any]) -> dict[str, Any]:
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    api = Boto3RegistrationApi.from_config(
        session=session, endpoint_url=spec["url"], max_attempts=1
    )
    with GatedStore(spec["store"]) as store:
        syncer = Synchronizer(api, store, retries_on_stale=spec["retries"])
        say("ready")
        wait_for("start")
        registration_id = spec["registration_id"]
        try:
            if spec["action"] == "submit":
                event = syncer.submit(registration_id, actor=spec["actor"])
                return {"ok": True, "event": event.to_dict()}
            report = syncer.sync([registration_id], full=True)
            return {"ok": not report.failed, "report": report.to_dict()}
        except RegistrationError as err:
            return {"ok": False, "error": type(err).__name__, "message": str(err)}


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    say("result " + json.dumps(run(json.loads(args[0])), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
