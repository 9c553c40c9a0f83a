"""
The workbench: lc-runtime in a browser (``lc-runtime serve``), on the standalone settings.

Course teams see what a learner sees (their outline, Variants, what is hidden and why), XBlock authors run
their blocks with the XBlock JavaScript runtime (``static/lc_runtime/workbench/runtime.js``), and staff switch
to the draft, edit a block in its ``studio_view`` and publish. Not for edx-platform: LMS and Studio have pages
of their own.
"""
