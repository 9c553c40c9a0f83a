"""Settings and URLs for running lc-runtime outside edx-platform (CLI, demo, tests)."""
