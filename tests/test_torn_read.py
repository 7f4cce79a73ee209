"""A registration moves between its summary and its versions being read: the sync
reads the pair again instead of recording a jump no lifecycle path explains."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from helpers import REG_TYPE
from helpers.apis import DelegatingApi

from registration_fsm import EmulatedRegistrationApi, Synchronizer
from registration_fsm.ports import Filter


class MovesAfterTheSummary(DelegatingApi):
    """AWS submits the registration right after the first summary is read."""

    def __init__(self, inner: EmulatedRegistrationApi, registration_id: str) -> None:
        super().__init__(inner)
        self.emu, self.registration_id, self.moved = inner, registration_id, False

    def describe_registrations(
        self,
        *,
        registration_ids: Sequence[str] = (),
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        found = list(
            self.inner.describe_registrations(
                registration_ids=registration_ids, filters=filters, page_size=page_size
            )
        )
        if not self.moved:
            self.moved = True
            self.emu.submit_registration_version(self.registration_id)
        return iter(found)


def test_a_summary_older_than_its_versions_is_read_again() -> None:
    emu = EmulatedRegistrationApi(seed=4, catalog=None)
    reg_id = emu.create_registration(REG_TYPE)["RegistrationId"]
    api = MovesAfterTheSummary(emu, reg_id)
    report = Synchronizer(api).sync()  # the summary says CREATED, the versions SUBMITTED
    assert report.anomalies == []
    assert [e.trigger for e in report.events] == ["create", "submit"]
    assert all(e.version_number is not None for e in report.events)  # no registration jump
    assert api.calls["DescribeRegistrations"] == 2  # the list, then the summary read again
