"""A fleet: many accounts and regions, synced by workers that share one store.

:mod:`.config` reads the fleet file and reaches each (account, region); :mod:`.worker`
leases shards from the store and syncs them.
"""

from registration_fsm.fleet.config import (
    MAX_FLEET_FILE_BYTES,
    FleetConfig,
    FleetDefaults,
    SessionFactory,
    ShardConfig,
    connect,
    shard_session,
)
from registration_fsm.fleet.worker import ShardPass, Worker

__all__ = [
    "MAX_FLEET_FILE_BYTES",
    "FleetConfig",
    "FleetDefaults",
    "SessionFactory",
    "ShardConfig",
    "ShardPass",
    "Worker",
    "connect",
    "shard_session",
]
