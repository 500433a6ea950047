"""Shared plumbing: app factory, config, database, errors, pagination, idempotency, ETags, scope, events.

The kernel imports no context package: `bootstrap.create_app` hands it the contexts and the event wiring.
"""
