"""
The examples' tests run in ``make test``'s processes, after lc-runtime's own: they start from the same fresh
caches (the suite's course caches, edx-when's request cache, openedx-core's container types), as every test
under tests/ does.
"""

from tests.conftest import _fresh_caches  # noqa: F401 - an autouse fixture, registered by being here
