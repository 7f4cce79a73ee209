"""What was submitted: each version keeps its field values as they stood when it left
DRAFT, the submit event carries their digest, stores keep them, versions diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from registration_fsm import (
    Catalog,
    EmulatedRegistrationApi,
    FieldValue,
    FieldValues,
    InvalidArgument,
    InvalidArgumentType,
    Registration,
    SQLiteStore,
    Synchronizer,
    fill_form,
    read_field_values,
)
from registration_fsm.store.memory import MemoryStore

BRAND = "US_TEN_DLC_BRAND_REGISTRATION"
NAME = "companyInfo.companyName"


@pytest.fixture
def emu() -> EmulatedRegistrationApi:
    return EmulatedRegistrationApi(catalog=Catalog.builtin())


def submitted_then_denied_then_fixed(
    emu: EmulatedRegistrationApi, syncer: Synchronizer
) -> tuple[str, FieldValues, FieldValues]:
    reg = syncer.create(BRAND, actor="ann")
    first = fill_form(emu, reg.id)
    syncer.submit(reg.id, actor="ann", reason="first try")
    emu.advance(reg.id, "begin_review")
    emu.advance(reg.id, "deny", denied_reasons=[{"Reason": "EIN", "ShortDescription": "no match"}])
    syncer.sync([reg.id])
    syncer.create_version(reg.id, actor="ann")
    second = fill_form(emu, reg.id, text={NAME: "Example Corporation Inc"})
    syncer.submit(reg.id, actor="ann", reason="name as on the EIN letter")
    return reg.id, first, second


def test_a_submit_keeps_the_values_and_its_event_records_their_digest(
    emu: EmulatedRegistrationApi,
) -> None:
    syncer = Synchronizer(emu)
    reg_id, first, second = submitted_then_denied_then_fixed(emu, syncer)
    reg = syncer.get(reg_id)
    assert reg.field_values(1) == first == read_field_values(emu, reg_id, 1)
    assert reg.field_values(2) == second
    submits = [e for e in syncer.store.events(reg_id) if e.trigger == "submit"]
    assert [e.details["fields_digest"] for e in submits] == [first.digest(), second.digest()]
    assert [e.actor for e in submits] == ["ann", "ann"]


def test_versions_diff_by_field(emu: EmulatedRegistrationApi) -> None:
    syncer = Synchronizer(emu)
    reg_id, _, _ = submitted_then_denied_then_fixed(emu, syncer)
    changes = syncer.get(reg_id).diff_fields(1, 2)
    assert [(c.field_path, c.kind) for c in changes] == [(NAME, "changed")]
    assert changes[0].describe() == f"{NAME}: 'Example Corp' -> 'Example Corporation Inc'"
    assert syncer.get(reg_id).diff_fields(2, 2) == ()


def test_a_diff_of_a_version_whose_values_are_unknown_says_which(
    emu: EmulatedRegistrationApi,
) -> None:
    syncer = Synchronizer(emu, field_values="off")
    reg_id, _, _ = submitted_then_denied_then_fixed(emu, syncer)
    with pytest.raises(InvalidArgument, match=r"v1: its field values are not known"):
        syncer.get(reg_id).diff_fields(1, 2)
    with pytest.raises(InvalidArgument, match="has no version 9"):
        syncer.get(reg_id).field_values(9)
    assert "DescribeRegistrationFieldValues" not in emu.calls


def test_sync_reads_values_once_when_a_version_leaves_draft(
    emu: EmulatedRegistrationApi,
) -> None:
    reg_id = emu.create_registration(BRAND)["RegistrationId"]
    values = fill_form(emu, reg_id)
    syncer = Synchronizer(emu)
    syncer.sync()
    assert syncer.get(reg_id).field_values(1) is None  # a DRAFT: not read by default
    emu.submit_registration_version(reg_id)
    before = emu.calls.get("DescribeRegistrationFieldValues", 0)
    report = syncer.sync()
    assert emu.calls["DescribeRegistrationFieldValues"] == before + 1
    assert syncer.get(reg_id).field_values(1) == values
    (submit,) = [e for e in report.events if e.trigger == "submit"]
    assert submit.details == {"fields_digest": values.digest()}
    for trigger in ("begin_review", "approve"):
        emu.advance(reg_id, trigger)
        syncer.sync(full=True)
    assert emu.calls["DescribeRegistrationFieldValues"] == before + 1  # frozen: never again
    assert syncer.get(reg_id).field_values(1) == values


def test_drafts_mode_reads_the_current_draft_each_time(emu: EmulatedRegistrationApi) -> None:
    reg_id = emu.create_registration(BRAND)["RegistrationId"]
    syncer = Synchronizer(emu, field_values="drafts")
    syncer.sync()
    assert syncer.get(reg_id).field_values() == FieldValues.empty()
    emu.put_registration_field_value(reg_id, NAME, text_value="Example Corp")
    syncer.sync(full=True)
    assert syncer.get(reg_id).field_values() == FieldValues.of(
        [FieldValue(NAME, text_value="Example Corp")]
    )


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="field_values must be one of"):
        Synchronizer(EmulatedRegistrationApi(), field_values="always")


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_stores_keep_the_values(emu: EmulatedRegistrationApi, kind: str, tmp_path: Path) -> None:
    store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "s.db")
    syncer = Synchronizer(emu, store)
    reg_id, first, second = submitted_then_denied_then_fixed(emu, syncer)
    if kind == "sqlite":
        store.close()
        store = SQLiteStore(tmp_path / "s.db")
    stored = store.get(reg_id)
    assert stored is not None
    assert stored.registration.field_values_known() == {1: first, 2: second}


def test_the_domain_submit_takes_the_values() -> None:
    reg = Registration.new("registration-" + "a" * 32, "arn:x", BRAND)
    values = FieldValues.of([FieldValue(NAME, text_value="Example Corp")])
    event = reg.submit(field_values=values, actor="ann")
    assert event.details == {"fields_digest": values.digest()}
    assert reg.field_values(1) == values
    with pytest.raises(InvalidArgumentType, match="field_values must be FieldValues"):
        Registration.new("registration-" + "b" * 32, "arn:y", BRAND).fire(
            "submit", field_values={"a": "b"}
        )


def test_a_first_sync_reads_current_versions_and_all_backfills_the_rest(
    emu: EmulatedRegistrationApi,
) -> None:
    reg_id = emu.create_registration(BRAND)["RegistrationId"]
    first = fill_form(emu, reg_id)
    emu.submit_registration_version(reg_id)
    emu.advance(reg_id, "begin_review")
    emu.advance(reg_id, "deny")
    emu.create_registration_version(reg_id)
    second = fill_form(emu, reg_id, text={NAME: "Example Corporation Inc"})
    emu.submit_registration_version(reg_id)

    syncer = Synchronizer(emu)  # sees v1 already DENIED, v2 SUBMITTED: reads v2 only
    syncer.sync()
    assert syncer.get(reg_id).field_values_known() == {2: second}
    assert emu.calls["DescribeRegistrationFieldValues"] == 1

    backfill = Synchronizer(emu, syncer.store, field_values="all")
    backfill.sync(full=True)
    assert backfill.get(reg_id).field_values_known() == {1: first, 2: second}
    assert emu.calls["DescribeRegistrationFieldValues"] == 2  # v1 only: v2 was known
    backfill.sync(full=True)
    assert emu.calls["DescribeRegistrationFieldValues"] == 2  # nothing left to read
