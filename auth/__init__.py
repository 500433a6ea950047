"""Accounts, tokens, roles and grid scope."""
