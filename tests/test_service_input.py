"""Wrong input to the Synchronizer is loud: one typed error, before any request.

Wrong types raise ``InvalidArgumentType`` (a ``TypeError``), malformed ids
``InvalidRegistrationId`` (a ``ValueError``); an id the API does not know is
reported by a sync (``not_found``) and refused by a command (``NotFoundError``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import REG_TYPE, TickingClock

from registration_fsm import (
    ApiError,
    InvalidArgument,
    InvalidArgumentType,
    InvalidRegistrationId,
    NotFoundError,
    NotTracked,
    Synchronizer,
)
from registration_fsm.emulator import EmulatedRegistrationApi
from registration_fsm.store import MemoryStore

UNKNOWN = "registration-" + "ab" * 16  # well formed, but the API never made it


@pytest.fixture
def emu(clock: TickingClock) -> EmulatedRegistrationApi:
    return EmulatedRegistrationApi(clock=clock, seed=8)


@pytest.fixture
def syncer(emu: EmulatedRegistrationApi) -> Synchronizer:
    return Synchronizer(emu, MemoryStore())


def test_a_single_id_where_a_list_is_expected_is_refused_before_any_request(
    emu: EmulatedRegistrationApi, syncer: Synchronizer
) -> None:
    reg_id = emu.create_registration(REG_TYPE)["RegistrationId"]
    before = dict(emu.calls)

    with pytest.raises(InvalidArgumentType, match=r"for one id: \[id\]") as err:
        syncer.sync(reg_id)  # the type checker lets it through: a str is a sequence

    assert isinstance(err.value, TypeError)
    assert dict(emu.calls) == before
    assert syncer.store.ids() == []
    with pytest.raises(InvalidArgumentType):
        syncer.sync(reg_id.encode())
    with pytest.raises(InvalidArgumentType):
        syncer.sync(42)  # type: ignore[arg-type]
    assert dict(emu.calls) == before


@pytest.mark.parametrize("store", ["my.db", Path("my.db"), {}])
def test_a_path_where_a_store_is_expected_is_refused(
    emu: EmulatedRegistrationApi, store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidArgumentType, match=r"store must be a Store such as SQLiteStore"):
        Synchronizer(emu, store)
    assert list(tmp_path.iterdir()) == []  # no file was made under that name


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"api": "https://sms-voice.us-east-1.amazonaws.com"}, InvalidArgumentType, "api must be"),
        ({"policy": "allow_draft_discard"}, InvalidArgumentType, "policy must be"),
        ({"clock": "now"}, InvalidArgumentType, "clock must be callable"),
        ({"concurrency": 0}, InvalidArgument, "concurrency"),
        ({"retries_on_stale": -1}, InvalidArgument, "retries_on_stale"),
    ],
)
def test_other_wrong_arguments_name_themselves(
    emu: EmulatedRegistrationApi, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    arguments: dict[str, Any] = {"api": emu, **kwargs}
    with pytest.raises(error, match=match):
        Synchronizer(**arguments)


def test_an_id_the_api_does_not_know_is_reported_not_raised(
    emu: EmulatedRegistrationApi, syncer: Synchronizer
) -> None:
    known = emu.create_registration(REG_TYPE)["RegistrationId"]

    report = syncer.sync([known, UNKNOWN])

    assert report.not_found == [UNKNOWN]
    assert report.ok is False
    assert report.changed == [known]  # the rest of the sync went ahead
    assert (report.failed, report.deleted) == ({}, [])
    assert report.to_dict()["not_found"] == [UNKNOWN]
    assert syncer.store.ids() == [known]  # nothing stored for the unknown id
    alone = syncer.sync([UNKNOWN])
    assert (alone.not_found, alone.ok, alone.events) == ([UNKNOWN], False, [])


def test_a_sync_that_found_everything_is_ok(
    emu: EmulatedRegistrationApi, syncer: Synchronizer
) -> None:
    known = emu.create_registration(REG_TYPE)["RegistrationId"]
    report = syncer.sync([known])
    assert (report.not_found, report.ok) == ([], True)


def test_a_tracked_id_the_api_no_longer_knows_is_deleted_not_unknown(
    emu: EmulatedRegistrationApi, syncer: Synchronizer
) -> None:
    known = emu.create_registration(REG_TYPE)["RegistrationId"]
    syncer.sync()
    emu.delete_registration(known)
    report = syncer.sync([known])
    assert (report.deleted, report.not_found, report.ok) == ([known], [], True)


@pytest.mark.parametrize("bad", ["", "bad id", "registration-☃", "x" * 257])
def test_a_malformed_id_raises_before_any_request(
    emu: EmulatedRegistrationApi, syncer: Synchronizer, bad: str
) -> None:
    before = dict(emu.calls)
    calls: list[Callable[[], object]] = [
        lambda: syncer.sync([bad]),
        lambda: syncer.submit(bad),
        lambda: syncer.create_version(bad),
        lambda: syncer.discard(bad, reason="typo"),
        lambda: syncer.delete(bad),
        lambda: syncer.get(bad),
        lambda: syncer.wait_for(bad, {"APPROVED"}),
    ]
    for call in calls:
        with pytest.raises(InvalidRegistrationId) as err:
            call()
        assert err.value.value == bad
        assert isinstance(err.value, ValueError)
    assert dict(emu.calls) == before


def test_a_non_string_id_is_a_type_error(syncer: Synchronizer) -> None:
    for bad in (None, 42, ["registration-1"]):
        with pytest.raises(InvalidArgumentType, match="must be a string"):
            syncer.submit(bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentType, match="must be a string"):
            syncer.sync([bad])  # type: ignore[list-item]


@pytest.mark.parametrize("command", ["submit", "create_version", "discard", "delete"])
def test_a_command_on_an_id_the_api_does_not_know_is_not_found(
    emu: EmulatedRegistrationApi, syncer: Synchronizer, command: str
) -> None:
    run: Callable[..., object] = getattr(syncer, command)
    with pytest.raises(NotFoundError) as err:
        run(UNKNOWN, reason="typo")

    assert not isinstance(err.value, NotTracked)  # the API was asked: it is not there at all
    assert isinstance(err.value, ApiError)
    assert err.value.resource_id == UNKNOWN
    assert UNKNOWN in str(err.value)
    operations = {op for op, n in emu.calls.items() if n}
    assert operations == {"DescribeRegistrations"}  # looked it up; sent no command
    assert syncer.store.ids() == []


def test_reading_an_untracked_id_is_not_tracked_and_asks_nothing(
    emu: EmulatedRegistrationApi, syncer: Synchronizer
) -> None:
    known = emu.create_registration(REG_TYPE)["RegistrationId"]
    before = dict(emu.calls)
    for reg_id in (known, UNKNOWN):
        with pytest.raises(NotTracked, match=r"pull it with sync\(\["):
            syncer.get(reg_id)
    assert dict(emu.calls) == before
