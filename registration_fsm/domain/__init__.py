"""The domain: statuses, the lifecycle table, the models and the guards.

Imports nothing of the package outside itself but :mod:`registration_fsm.errors`;
of the world, ``attrs`` and (on first use) ``transitions``.
"""
