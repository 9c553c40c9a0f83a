"""
lc-runtime: an XBlock runtime for Open edX whose courses live in Learning Core (openedx-core).

The stable entry point is :mod:`lc_runtime.api`.
"""

__version__ = "0.1.0"
