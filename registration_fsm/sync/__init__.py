"""The service layer: keep local registrations in step with an API."""

from registration_fsm.sync.reconcile import REMOTE_CHANGE, SyncAnomaly
from registration_fsm.sync.report import SyncReport
from registration_fsm.sync.synchronizer import Synchronizer

__all__ = ["REMOTE_CHANGE", "SyncAnomaly", "SyncReport", "Synchronizer"]
