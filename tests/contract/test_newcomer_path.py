"""
What a newcomer tried, and what went wrong (issue 13's "Why"): each case, as a test of what happens now.
"""

from __future__ import annotations

import html as html_module
import re

from lc_runtime import api
from tests.conftest import DEMO_KEY, usage

ORBIT_QUESTION = usage(DEMO_KEY, "problem", "orbit-question")


def test_problem_text_is_escaped_in_capas_data_content_attribute(demo_course, make_user):
    """
    capa puts its HTML, passed through the ``replace_urls`` service, into ``data-content="..."``. A
    ``SafeString`` handed back unchanged (nothing to rewrite) left it unescaped: stray ``"`` and
    ``data-graded="True">`` lines in the page.
    """
    runtime = api.get_runtime(make_user("ada"), course_key=DEMO_KEY)
    page = runtime.render(runtime.get_block(ORBIT_QUESTION), "student_view").content
    (content,) = re.findall(r'data-content="([^"]*)"', page)
    assert "<" not in content and "&lt;" in content
    assert "Martian year" in html_module.unescape(content)


def test_an_export_path_ending_in_zip_writes_a_zip(demo_course, tmp_path, capsys):
    """``lc-runtime export KEY x.zip`` wrote a folder named ``x.zip``."""
    import zipfile

    from lc_runtime import cli

    dest = tmp_path / "demo.zip"
    assert cli.main(["export", DEMO_KEY, str(dest)]) == 0
    assert dest.is_file() and zipfile.is_zipfile(dest)
    with zipfile.ZipFile(dest) as archive:
        assert "course/course.xml" in archive.namelist()
    copy = api.import_olx(dest, course_key="course-v1:LcX+Demo+Zip")
    assert copy.problems == [] and copy.block_count == demo_course.block_count
