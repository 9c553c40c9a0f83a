"""
The content layer: the only code that talks to openedx-core (``openedx_content``).

One package per concept, each entered through its ``api`` module:

- :mod:`lc_runtime.content.courses` — course structure: runs, the tree loader, the writer, pins,
  the course's files outside its outline;
- :mod:`lc_runtime.content.pools` — selector storage: pools and their proxies;
- :mod:`lc_runtime.content.assets` — static files as Learning Core media;
- :mod:`lc_runtime.content.learners` — what learners do: learner state and its stores, Variant and
  partition-group rows.
"""
