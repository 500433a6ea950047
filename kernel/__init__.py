"""Shared plumbing: app factory, config, database, errors, pagination, idempotency, ETags, scope.

The kernel imports no context package; only `create_app` registers their blueprints.
"""
