"""The people in the field: worker profiles, duty, positions and patrols (kept apart from the territory)."""
