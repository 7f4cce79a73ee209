"""Listing: filters, opaque HMAC-signed NextTokens and keyset pages.

A token carries the operation, a digest of the query it belongs to (ids,
filters, registration; not MaxResults) and a cursor: the sort key of the last
item returned. Pages resume after that key, so items created or deleted
between pages never shift the rest. A token that was tampered with, signed by
another emulator, or replayed with another query raises ApiValidationError
(reason INVALID_NEXT_TOKEN). Tokens do not expire.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from registration_fsm.domain.registration import Registration
from registration_fsm.domain.statuses import RegistrationStatus, VersionStatus
from registration_fsm.domain.version import RegistrationVersion
from registration_fsm.errors import ApiValidationError

T = TypeVar("T")

_MAC_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _invalid(message: str) -> ApiValidationError:
    return ApiValidationError(
        f"invalid NextToken: {message}",
        reason="INVALID_NEXT_TOKEN",
        fields=[("NextToken", message)],
    )


class TokenSigner:
    """Issues and verifies NextTokens with one secret key."""

    def __init__(self, key: bytes) -> None:
        self._key = bytes(key)

    @classmethod
    def for_seed(cls, seed: int | None) -> TokenSigner:
        """A signer with a random key, or one derived from ``seed`` (reproducible tokens)."""
        if seed is None:
            return cls(secrets.token_bytes(32))
        return cls(hashlib.sha256(f"registration-fsm-emulator:{seed}".encode()).digest())

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC_BYTES]

    def issue(self, operation: str, query: Any, cursor: int) -> str:
        """A token resuming ``operation`` for ``query`` after ``cursor``."""
        digest = hashlib.sha256(_canonical(query)).hexdigest()[:32]
        payload = _canonical({"c": cursor, "op": operation, "q": digest})
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def verify(self, token: str, operation: str, query: Any) -> int:
        """The cursor in ``token``; ApiValidationError (INVALID_NEXT_TOKEN) if it is not ours."""
        head, dot, tail = token.partition(".")
        if not dot:
            raise _invalid("malformed token")
        try:
            payload, mac = _unb64(head), _unb64(tail)
        except (binascii.Error, ValueError):
            raise _invalid("malformed token") from None
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise _invalid("the token was not issued by this service or was altered")
        try:
            data = json.loads(payload)
        except ValueError:
            raise _invalid("malformed token") from None
        digest = hashlib.sha256(_canonical(query)).hexdigest()[:32]
        if not isinstance(data, dict) or data.get("op") != operation or data.get("q") != digest:
            raise _invalid("the token belongs to another request")
        cursor = data.get("c")
        if not isinstance(cursor, int) or isinstance(cursor, bool):
            raise _invalid("malformed token")
        return cursor


def page(
    items: Sequence[T],
    key: Callable[[T], int],
    *,
    after: int | None,
    limit: int,
    descending: bool = False,
) -> tuple[list[T], int | None]:
    """One page of ``items`` (sorted by ``key``) past ``after``, and the next cursor.

    The cursor is None when no item follows the page.
    """
    if after is None:
        rest = list(items)
    elif descending:
        rest = [i for i in items if key(i) < after]
    else:
        rest = [i for i in items if key(i) > after]
    chosen = rest[:limit]
    more = len(rest) > limit
    return chosen, (key(chosen[-1]) if more and chosen else None)


class Pages:
    """Cuts one page of a listing and signs its NextToken."""

    def __init__(self, signer: TokenSigner, default_size: int) -> None:
        self.signer = signer
        self.default_size = default_size

    def page(
        self,
        operation: str,
        request: Mapping[str, Any],
        query: Any,
        items: Sequence[T],
        key: Callable[[T], int],
        *,
        descending: bool = False,
    ) -> tuple[list[T], str | None]:
        """The page ``request`` (NextToken, MaxResults) asks for, and the next token."""
        token = request.get("NextToken")
        after = None if token is None else self.signer.verify(token, operation, query)
        limit = request.get("MaxResults") or self.default_size
        chosen, cursor = page(items, key, after=after, limit=limit, descending=descending)
        return chosen, None if cursor is None else self.signer.issue(operation, query, cursor)


def every_item(
    send: Callable[[str, Mapping[str, Any]], dict[str, Any]],
    operation: str,
    requests: Sequence[Mapping[str, Any]],
    key: str,
) -> Iterator[dict[str, Any]]:
    """The ``key`` items of every page of every request, following NextTokens."""
    for request in requests:
        token: str | None = None
        while True:
            params = dict(request) if token is None else {**request, "NextToken": token}
            result = send(operation, params)
            yield from result[key]
            token = result.get("NextToken")
            if token is None:
                break


def parse_filters(
    raw: Sequence[Mapping[str, Any]] | None, name: str, known: Collection[str]
) -> dict[str, list[str]]:
    """Validated filters as {name: sorted values}; a repeated name narrows (values intersect).

    Values of the status filter ``name`` must be in ``known``, else ApiValidationError
    (reason INVALID_FILTER_VALUES).
    """
    out: dict[str, set[str]] = {}
    for i, f in enumerate(raw or ()):
        values = set(f["Values"])
        if f["Name"] == name:
            unknown = sorted(v for v in values if v not in known)
            if unknown:
                message = f"unknown {name} value(s): {', '.join(unknown)}"
                raise ApiValidationError(
                    message,
                    reason="INVALID_FILTER_VALUES",
                    fields=[(f"Filters[{i}].Values", message)],
                )
        out[f["Name"]] = out[f["Name"]] & values if f["Name"] in out else values
    return {k: sorted(v) for k, v in sorted(out.items())}


def matches(value: str, allowed: Collection[str] | None) -> bool:
    """True when there is no such filter or ``value`` passes it."""
    return allowed is None or value in allowed


def registrations_page(
    pages: Pages,
    request: Mapping[str, Any],
    registrations: Sequence[tuple[int, Registration]],
    ids: Sequence[str],
) -> dict[str, Any]:
    """DescribeRegistrationsResult for ``registrations`` (already narrowed to ``ids``).

    ``registrations`` are (creation sequence, registration) pairs, oldest first.
    """
    filters = parse_filters(
        request.get("Filters"), "registration-status", {s.value for s in RegistrationStatus}
    )
    chosen, token = pages.page(
        "DescribeRegistrations",
        request,
        {"ids": list(ids), "filters": filters},
        [
            (seq, reg)
            for seq, reg in registrations
            if matches(reg.type, filters.get("registration-type"))
            and matches(reg.status.to_api(), filters.get("registration-status"))
        ],
        _first,
    )
    out: dict[str, Any] = {"Registrations": [reg.to_api() for _, reg in chosen]}
    return out if token is None else {**out, "NextToken": token}


def versions_page(pages: Pages, request: Mapping[str, Any], reg: Registration) -> dict[str, Any]:
    """DescribeRegistrationVersionsResult for ``reg``: newest version first."""
    numbers = sorted(set(request.get("VersionNumbers") or ()))
    missing = [n for n in numbers if n not in reg.versions]
    if missing:
        message = f"registration {reg.id} has no version {', '.join(map(str, missing))}"
        raise ApiValidationError(
            message, reason="UNKNOWN_REGISTRATION_VERSION", fields=[("VersionNumbers", message)]
        )
    filters = parse_filters(
        request.get("Filters"), "registration-version-status", {s.value for s in VersionStatus}
    )
    statuses = filters.get("registration-version-status")
    chosen, token = pages.page(
        "DescribeRegistrationVersions",
        request,
        {"id": reg.id, "numbers": numbers, "filters": filters},
        [
            reg.versions[n]
            for n in sorted(reg.versions, reverse=True)
            if (not numbers or n in numbers) and matches(reg.versions[n].status.to_api(), statuses)
        ],
        _number,
        descending=True,
    )
    out: dict[str, Any] = {
        "RegistrationArn": reg.arn,
        "RegistrationId": reg.id,
        "RegistrationVersions": [v.to_api() for v in chosen],
    }
    return out if token is None else {**out, "NextToken": token}


def _first(pair: tuple[int, Registration]) -> int:
    return pair[0]


def _number(version: RegistrationVersion) -> int:
    return version.number
