"""Integrations: other systems allowed to push resident requests in, each acting through its service account."""
