"""Notifications: a transactional outbox, delivery workers, SMS channels, webhooks and inbound hooks."""
