"""Programs and wrappers the reliability tests share (and run in child processes).

- :mod:`helpers.apis`: a ``RegistrationApi`` that delegates to another, with hooks.
- :mod:`helpers.world`: a deterministic remote world (an emulator moved in seeded rounds).
- :mod:`helpers.sync_child`: the child the durability test SIGKILLs mid-sync.
- :mod:`helpers.racer`: a child synchronizer whose saves wait for the parent's go.
"""
