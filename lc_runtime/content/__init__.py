"""
The content layer: the only code that talks to ``openedx_content.api``.

It loads the published or draft tree of a course run in a constant number of queries, creates and
updates components and containers, and publishes. It also owns lc-runtime's own models.
"""
