"""A RegistrationApi that delegates to another one; subclasses hook single calls."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from registration_fsm.ports import Filter, RegistrationApi


class DelegatingApi:
    """Every :class:`RegistrationApi` call goes to ``inner``; override one to hook it."""

    def __init__(self, inner: RegistrationApi) -> None:
        self.inner = inner

    @property
    def calls(self) -> Mapping[str, int]:
        return self.inner.calls

    def create_registration(
        self,
        registration_type: str,
        *,
        client_token: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        return self.inner.create_registration(
            registration_type, client_token=client_token, tags=tags
        )

    def describe_registrations(
        self,
        *,
        registration_ids: Sequence[str] = (),
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        return self.inner.describe_registrations(
            registration_ids=registration_ids, filters=filters, page_size=page_size
        )

    def describe_registration_versions(
        self,
        registration_id: str,
        *,
        version_numbers: Sequence[int] = (),
        filters: Sequence[Filter] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        return self.inner.describe_registration_versions(
            registration_id, version_numbers=version_numbers, filters=filters, page_size=page_size
        )

    def create_registration_version(self, registration_id: str) -> dict[str, Any]:
        return self.inner.create_registration_version(registration_id)

    def submit_registration_version(
        self, registration_id: str, *, aws_review: bool = False
    ) -> dict[str, Any]:
        return self.inner.submit_registration_version(registration_id, aws_review=aws_review)

    def discard_registration_version(self, registration_id: str) -> dict[str, Any]:
        return self.inner.discard_registration_version(registration_id)

    def delete_registration(self, registration_id: str) -> dict[str, Any]:
        return self.inner.delete_registration(registration_id)
