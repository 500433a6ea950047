"""Patrols (巡查): a worker walking their cells, with track points and visits."""
