"""The service layer: keep local registrations in step with an API, and send it commands.

:class:`Synchronizer` is the entry point; its jobs live in :mod:`.pull`,
:mod:`.commands`, :mod:`.follow` and :mod:`.unit_of_work`.
"""

from registration_fsm.sync.reconcile import REMOTE_CHANGE, SyncAnomaly
from registration_fsm.sync.report import SyncReport
from registration_fsm.sync.synchronizer import Synchronizer
from registration_fsm.sync.unit_of_work import Transaction, UnitOfWork

__all__ = [
    "REMOTE_CHANGE",
    "SyncAnomaly",
    "SyncReport",
    "Synchronizer",
    "Transaction",
    "UnitOfWork",
]
