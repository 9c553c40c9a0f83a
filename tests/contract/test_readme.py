"""
The README's runnable examples (its ``pycon`` blocks) run as doctests, as a newcomer would run them: in
a process of their own, from the repository's folder, in a new home, after ``lc_runtime.setup()``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import ROOT

RUN_DOCTESTS = """
import doctest, sys
text = sys.stdin.read()
test = doctest.DocTestParser().get_doctest(text, {}, "README.md", "README.md", 0)
runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
runner.run(test)
sys.exit(1 if runner.failures else 0)
"""


def readme_examples() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return "\n".join(re.findall(r"```pycon\n(.*?)```", text, flags=re.DOTALL))


def test_the_readme_has_runnable_examples():
    examples = readme_examples()
    assert "lc_runtime.setup()" in examples.splitlines()[1]
    assert examples.count(">>> ") > 20


def test_the_readmes_examples_run_as_doctests_in_a_new_home(tmp_path):
    environment = {**os.environ, "LC_RUNTIME_HOME": str(tmp_path / "home"), "LC_RUNTIME_DB": "sqlite"}
    for name in ("DJANGO_SETTINGS_MODULE", "LC_RUNTIME_DB_NAME"):
        environment.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", RUN_DOCTESTS], input=readme_examples(), cwd=ROOT, env=environment,
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
