"""A sync of one account never touches another's registrations in a shared store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import REG_TYPE
from helpers.apis import DelegatingApi

from registration_fsm import EmulatedRegistrationApi, Synchronizer, VersionStatus
from registration_fsm.domain.shard import Shard
from registration_fsm.errors import InvalidArgument
from registration_fsm.store import MemoryStore, SQLiteStore

A = Shard("111122223333", "us-east-1")
B = Shard("444455556666", "us-east-1")


def emulator(shard: Shard) -> EmulatedRegistrationApi:
    # The same seed: both accounts' registrations get the same ids.
    return EmulatedRegistrationApi(account=shard.account, region=shard.region, seed=9)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MemoryStore | SQLiteStore]:
    made = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")
    with made:
        yield made


def test_two_accounts_with_the_same_ids_sync_into_one_store(
    store: MemoryStore | SQLiteStore,
) -> None:
    a, b = emulator(A), emulator(B)
    ids = [a.create_registration(REG_TYPE)["RegistrationId"] for _ in range(3)]
    assert [b.create_registration(REG_TYPE)["RegistrationId"] for _ in range(3)] == ids
    a.submit_registration_version(ids[0])

    Synchronizer(a, store).sync()
    report = Synchronizer(b, store).sync()

    assert report.deleted == []  # A's registrations, missing from B's listing, are A's
    assert store.shards() == [A, B]
    submitted = store.for_shard(A).get(ids[0])
    draft = store.for_shard(B).get(ids[0])
    assert submitted is not None
    assert draft is not None
    assert submitted.registration.current_version.status is VersionStatus.SUBMITTED
    assert draft.registration.current_version.status is VersionStatus.DRAFT
    twin = store.for_shard(A).get(ids[1])
    b.delete_registration(ids[1])
    report = Synchronizer(b, store).sync()
    assert report.deleted == [ids[1]]
    assert store.for_shard(A).get(ids[1]) == twin  # A's twin is untouched


def test_a_sync_naming_another_account_than_the_api_lists_is_refused(
    store: MemoryStore | SQLiteStore,
) -> None:
    a = emulator(A)
    a.create_registration(REG_TYPE)
    with pytest.raises(InvalidArgument, match=f"this sync is of {B}, but the API lists .*{A}"):
        Synchronizer(a, store, shard=B).sync()
    assert store.ids() == []


def test_an_api_of_unknown_account_is_refused_a_store_of_several(
    store: MemoryStore | SQLiteStore,
) -> None:
    a, b = emulator(A), emulator(B)
    a.create_registration(REG_TYPE)
    b.create_registration(REG_TYPE)
    Synchronizer(a, store).sync()
    Synchronizer(b, store).sync()
    before = list(store.registrations())
    anonymous = DelegatingApi(a)  # no ``shard``: the sync cannot tell whose it is
    with pytest.raises(InvalidArgument, match="several accounts/regions") as caught:
        Synchronizer(anonymous, store).sync()
    assert "\n" not in str(caught.value)
    assert list(store.registrations()) == before
    # Named, it syncs.
    assert Synchronizer(anonymous, store, shard=A).sync().failed == {}


def test_an_empty_listing_never_takes_a_store_for_deleted(
    store: MemoryStore | SQLiteStore,
) -> None:
    """Credentials for an empty account (a wrong profile) list nothing, as an account
    whose registrations were all deleted would: the sync refuses to decide."""
    a = emulator(A)
    ids = [a.create_registration(REG_TYPE)["RegistrationId"] for _ in range(2)]
    Synchronizer(a, store).sync()
    before = list(store.registrations())
    elsewhere = DelegatingApi(EmulatedRegistrationApi(account=A.account, seed=1))  # empty
    with pytest.raises(InvalidArgument, match="lists no registration, but the store holds 2"):
        Synchronizer(elsewhere, store, shard=A).sync()
    assert list(store.registrations()) == before
    # Deleted for real: syncing them by id records it.
    for reg_id in ids:
        a.delete_registration(reg_id)
    report = Synchronizer(DelegatingApi(a), store, shard=A).sync(ids)
    assert sorted(report.deleted) == sorted(ids)
