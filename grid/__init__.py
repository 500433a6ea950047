"""The territory: grid units (city › district › street › community › cell) and who covers them."""
