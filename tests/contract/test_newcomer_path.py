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
