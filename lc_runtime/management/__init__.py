"""
Django management commands for operators inside edx-platform: ``lc_runtime_import``,
``lc_runtime_export`` and ``lc_runtime_runs``, the ``lc-runtime`` CLI's commands of the same names.

They are named ``lc_runtime_*`` because edx-platform's Studio already has ``import`` and ``export``
commands (``cms/djangoapps/contentstore``, for the modulestore): a command of the same name in
another app shadows one or the other, depending on INSTALLED_APPS order. They parse the same
arguments and run the same code as the CLI (:mod:`lc_runtime.cli`), with Django already set up by
``manage.py`` and nothing migrated behind the operator's back.
"""
