"""The lifecycle's vocabulary: who fires a trigger, what a trigger is, what an edge is.

:class:`Edge` is one arrow of the version lifecycle, :class:`RegistrationEdge` one of
the registration's own; both compare by (source, trigger, dest) only. The tables
themselves, and :data:`~registration_fsm.domain.lifecycle.LIFECYCLE` that answers
questions about them, are in :mod:`registration_fsm.domain.lifecycle` (which
re-exports these names).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Generic, TypeVar

import attrs

from registration_fsm.domain.statuses import RegistrationStatus, VersionStatus

API_REFERENCE = "https://docs.aws.amazon.com/pinpoint/latest/apireference_smsvoicev2"
USER_GUIDE = "https://docs.aws.amazon.com/sms-voice/latest/userguide"
STATUS_DOC = f"{API_REFERENCE}/API_RegistrationVersionInformation.html"
HISTORY_DOC = f"{API_REFERENCE}/API_RegistrationVersionStatusHistory.html"
INFO_DOC = f"{API_REFERENCE}/API_RegistrationInformation.html"
SUBMIT_DOC = f"{API_REFERENCE}/API_SubmitRegistrationVersion.html"
DELETE_DOC = f"{API_REFERENCE}/API_DeleteRegistration.html"
ASSOCIATION_DOC = f"{API_REFERENCE}/API_SupportedAssociation.html"
DISCARD_GUIDE = f"{USER_GUIDE}/registrations-discard.html"
STATUS_GUIDE = f"{USER_GUIDE}/registrations-status.html"


class Initiator(StrEnum):
    """Who fires a trigger: the customer (an API call, or a step outside it) or AWS."""

    CUSTOMER = "customer"
    AWS = "aws"


@attrs.frozen
class Trigger:
    """A named cause of change: who fires it, through which operation, with which details.

    ``details`` are the keyword details it takes (``submit`` takes ``aws_review``);
    ``conflict_reason`` is the ConflictException ``Reason`` the API gives when it
    refuses the trigger; ``scope`` is ``"version"`` or ``"registration"``;
    ``follows`` names the trigger it only ever comes with (``provision`` comes with
    ``approve``): it is never fired alone.
    """

    name: str
    initiator: Initiator
    operation: str | None = None
    details: tuple[str, ...] = ()
    conflict_reason: str | None = None
    scope: str = "version"
    follows: str | None = None


S = TypeVar("S", VersionStatus, RegistrationStatus)


@attrs.frozen(repr=False, cache_hash=True)
class _Arrow(Generic[S]):
    """What both kinds of edge share (see :class:`Edge`)."""

    source: S | None
    trigger: str
    dest: S
    documented: bool = attrs.field(default=False, eq=False)
    link: str = attrs.field(default="", eq=False)
    when: str | None = attrs.field(default=None, eq=False)
    optional: bool = attrs.field(default=False, eq=False)
    note: str = attrs.field(default="", eq=False)
    name: str = attrs.field(default="", eq=False)

    #: How ``str`` shows a missing source.
    _NO_SOURCE = "(new)"

    def __str__(self) -> str:
        src = self._NO_SOURCE if self.source is None else str(self.source)
        return f"{src} --{self.trigger}--> {self.dest}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self})"

    @property
    def label(self) -> str:
        """The trigger, with its ``when`` detail: ``submit (aws_review)``."""
        return self.trigger if self.when is None else f"{self.trigger} ({self.when})"


@attrs.frozen(repr=False, cache_hash=True)
class Edge(_Arrow[VersionStatus]):
    """One arrow of the version lifecycle: ``source --trigger--> dest`` (source None: new version).

    Equality and hashing use (source, trigger, dest) only, so
    ``Edge(V.SUBMITTED, "discard", V.DISCARDED)`` finds the table's edge.
    ``when`` names a boolean detail that selects this edge over its siblings
    (``submit`` with ``aws_review``); an ``optional`` edge is refused unless the
    :class:`LifecyclePolicy` in force enables it, by the edge or by its ``name``.
    """


@attrs.frozen(repr=False, cache_hash=True)
class RegistrationEdge(_Arrow[RegistrationStatus]):
    """One arrow of the registration's own lifecycle, between RegistrationStatus values.

    ``source`` None means "from any other status" (``delete``): it applies from every
    status with no edge of its own for the trigger, except its destination.
    ``derived`` marks an edge that is no line of :data:`REGISTRATION_EDGES` but follows
    from a version edge through the status rules (drawn by the registration diagram,
    from :meth:`Lifecycle.registration_graph`).
    """

    derived: bool = attrs.field(default=False, eq=False)

    _NO_SOURCE = "(any)"


#: A step a registration can take: a version's edge, or the registration's own.
Move = Edge | RegistrationEdge


__all__ = [
    "API_REFERENCE",
    "ASSOCIATION_DOC",
    "DELETE_DOC",
    "DISCARD_GUIDE",
    "HISTORY_DOC",
    "INFO_DOC",
    "STATUS_DOC",
    "STATUS_GUIDE",
    "SUBMIT_DOC",
    "USER_GUIDE",
    "Edge",
    "Initiator",
    "Move",
    "RegistrationEdge",
    "Trigger",
]
