"""
``make docs``: the documentation builds offline with Sphinx, every warning an error, and holds the guides,
the API reference from the docstrings and the ADRs. Skipped where Sphinx is not installed (``make install``
installs it: the ``docs`` extra).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytest.importorskip("sphinx", reason="Sphinx is not installed (pip install -e '.[docs]'; make install does)")
pytest.importorskip("myst_parser", reason="myst-parser is not installed (pip install -e '.[docs]')")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs")
    # The build configures Django itself (docs/conf.py): not with the suite's settings.
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "docs", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return out, result.stderr


def test_the_docs_build_with_no_warning(built):
    _, stderr = built
    sphinx_lines = [line for line in stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    assert sphinx_lines == []


@pytest.mark.parametrize(("page", "expected"), [
    ("quickstart.html", "lc_runtime.setup()"),
    ("xblock-authors.html", "DJANGO_SETTINGS_MODULE"),
    ("selectors.html", "Writing a selector plugin"),
    ("outlines.html", "Writing an outline processor"),
    ("edx-platform.html", "AssetKeyMiddleware"),
    ("decisions/0006-signed-handler-urls.html", "Handler URLs are signed for one user"),
])
def test_each_guide_and_decision_is_a_page(built, page, expected):
    out, _ = built
    assert expected in (out / page).read_text(encoding="utf-8")


def test_the_api_reference_comes_from_the_docstrings(built):
    out, _ = built
    api_page = (out / "reference" / "api.html").read_text(encoding="utf-8")
    # A function's signature and the first words of its docstring, as autodoc wrote them.
    assert 'id="lc_runtime.api.import_olx"' in api_page and "strict" in api_page
    assert 'id="lc_runtime.setup"' in api_page
    selectors_page = (out / "reference" / "selectors.html").read_text(encoding="utf-8")
    assert 'id="lc_runtime.selectors.Selector"' in selectors_page


def test_nothing_in_the_built_pages_loads_from_another_site(built):
    out, _ = built
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert '<script src="http' not in text and '<link rel="stylesheet" href="http' not in text, page
