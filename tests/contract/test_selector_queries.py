"""
Query counts of units with selectors: constant in pool size and in the number of selectors, and a
first visit (which creates Variants and partition groups) costs a fixed number more.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lc_runtime import api
from tests.conftest import usage

KEY = "course-v1:LcX+Many+2026"
UNIT = usage(KEY, "vertical", "unit")

# Queries to render the unit for a learner, the tree already cached: (first visit, later visits).
# Later: the learner's state (1) and Variants (1) and, with split tests, partition groups (1).
# A first visit adds the lock on the learner's choices (1, once per unit of work), an INSERT and a
# locking re-read of the Variants (2) and, with split tests, of the partition groups (2). Savepoints
# are not counted. Both decide first what the learner may reach: their course roles (1) and personal
# dates (1), and on the first visit the run's dates, not cached yet for this import (1).
ACCESS = 1 + 1
EXPECTED = {"itembank": (5 + ACCESS + 1, 2 + ACCESS), "split_test": (8 + ACCESS + 1, 3 + ACCESS)}


def write_course(folder: Path, kind: str, selectors: int, pool: int) -> Path:
    """An export with one unit holding ``selectors`` selectors of ``kind``, each with ``pool`` members."""
    course = folder / f"{kind}-{selectors}-{pool}"
    (course / "course").mkdir(parents=True)
    (course / "policies" / "2026").mkdir(parents=True)
    (course / "course.xml").write_text('<course url_name="2026" org="LcX" course="Many"/>')
    groups = [{"id": g, "name": f"G{g}", "version": 1} for g in range(pool)]
    partition = {"id": 7, "name": "P", "scheme": "random", "version": 3, "groups": groups}
    policy = {"course/2026": {"user_partitions": [partition]}}
    (course / "policies" / "2026" / "policy.json").write_text(json.dumps(policy))
    blocks = []
    for s in range(selectors):
        if kind == "itembank":
            members = "".join(f'<html url_name="s{s}m{m}">Item {s}.{m}</html>' for m in range(pool))
            blocks.append(f'<itembank url_name="s{s}" max_count="2">{members}</itembank>')
        else:
            mapping = json.dumps({str(g): f"i4x://LcX/Many/vertical/s{s}g{g}" for g in range(pool)})
            members = "".join(
                f'<vertical url_name="s{s}g{g}"><html url_name="s{s}g{g}h">Group {g}</html></vertical>'
                for g in range(pool)
            )
            blocks.append(f"<split_test url_name=\"s{s}\" user_partition_id=\"7\" group_id_to_child='{mapping}'>"
                          f"{members}</split_test>")
    (course / "course" / "2026.xml").write_text(
        '<course start="2026-01-01T00:00:00Z" display_name="Many"><chapter url_name="c"><sequential url_name="q">'
        f'<vertical url_name="unit"><html url_name="intro">Hello</html>{"".join(blocks)}</vertical>'
        "</sequential></chapter></course>"
    )
    return course


def render_queries(user) -> int:
    runtime = api.get_runtime(user, course_key=KEY)  # the tree is cached: one query, not counted below
    with CaptureQueriesContext(connection) as queries, api.unit_of_work():
        html = runtime.render(runtime.get_block(UNIT), "student_view").content
    assert "Hello" in html
    return len([q for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))])


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["itembank", "split_test"])
def test_unit_render_queries_do_not_grow_with_pools_or_selectors(tmp_path, make_user, kind):
    counts = {}
    for index, (selectors, pool) in enumerate([(1, 2), (3, 4), (6, 12)]):
        api.import_olx(write_course(tmp_path, kind, selectors, pool), course_key=KEY)
        user = make_user(f"learner{index}")
        api.get_runtime(user, course_key=KEY)  # warm the tree cache
        first = render_queries(user)
        later = render_queries(user)
        counts[(selectors, pool)] = (first, later)
    assert set(counts.values()) == {EXPECTED[kind]}, counts
