"""An example XBlock for lc-runtime: a flashcard (see README.md)."""
