"""The rollups the dashboards read: per unit, Beijing day, category and channel; per worker; per month.

`facts` says what one ticket adds and where (pure); `incremental` applies a ticket change's difference in the
change's transaction (the `TicketChanged` subscriber); `rebuild` recounts and rebuilds them from the raw tickets.
"""
