import pytest

# The shared helpers assert too: rewrite them like conftest.py and the test modules, for the same failure reports.
pytest.register_assert_rewrite("tests.support")
