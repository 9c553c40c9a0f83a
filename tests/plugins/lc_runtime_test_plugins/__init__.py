"""Plugins that exist only for lc-runtime's tests, installed like any third-party package."""
