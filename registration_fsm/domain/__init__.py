"""The domain: statuses, the lifecycle table, the models and the guards.

Imports nothing outside itself but ``attrs`` and (lazily) ``transitions``.
"""
