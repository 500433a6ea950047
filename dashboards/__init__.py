"""Supervisor dashboards (`/api/v1/stats/...`) and ledgers (`/api/v1/exports/...`): read-only, scoped, fast."""
