"""双报到: serving members, and host organisations as units, report to the community where they live or stand."""
