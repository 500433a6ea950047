"""Tasks: categories, resident requests and the ticket lifecycle (我为群众办实事)."""
