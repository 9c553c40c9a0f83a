"""An example selector plugin for lc-runtime: ``adaptive``, the next problem by the learner's last score."""
