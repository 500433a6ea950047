"""Hooks in: other systems push resident requests, SMS providers call back with replies and delivery reports."""
