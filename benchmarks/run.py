"""
``make bench``: import and render timings and query counts, on a throwaway SQLite database.

Measures, for each course available (the demo course always; the shared courses when ../shared is
present): the import (seconds, queries, queries per block), loading the tree cold and warm, and
rendering every unit for one learner (median and worst milliseconds and queries per unit). Then
re-imports: the same export again (seconds, queries, versions created: 0 expected) and with one
block changed (1 version expected), and loads the tree of a second run pinned to a publish, cold
and warm. The reference course is ../shared/olx/harvardx-studio-advanced.
Prints a table; nothing is asserted here.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _setup() -> None:
    warnings.filterwarnings("ignore")
    # Capa logs a traceback for each problem that needs a sandbox; the numbers are what matter here.
    logging.disable(logging.CRITICAL)
    os.environ.setdefault("LC_RUNTIME_HOME", tempfile.mkdtemp(prefix="lc-runtime-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lc_runtime.standalone.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        if not sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT", "ROLLBACK")):
            self.count += 1
        return execute(sql, params, many, context)


def _measure(fn):
    from django.db import connection

    counter = _Counter()
    start = time.perf_counter()
    with connection.execute_wrapper(counter):
        result = fn()
    return result, time.perf_counter() - start, counter.count


def bench_course(label: str, path: Path, learner) -> str:
    from django.core.cache import cache

    from lc_runtime import api

    result, seconds, queries = _measure(lambda: api.import_olx(path))
    blocks = result.block_count
    print(f"\n{label}: {result.course_key}")
    print(f"  import        {seconds:7.2f} s  {queries:6d} queries  {queries / blocks:5.1f} queries/block  "
          f"({blocks} blocks, {blocks / seconds:5.0f} blocks/s)")

    cache.clear()
    runtime, seconds, queries = _measure(lambda: api.get_runtime(learner, course_key=result.course_key))
    print(f"  tree (cold)   {seconds * 1000:7.1f} ms {queries:6d} queries")
    runtime, seconds, queries = _measure(lambda: api.get_runtime(learner, course_key=result.course_key))
    print(f"  tree (warm)   {seconds * 1000:7.1f} ms {queries:6d} queries")

    # A learner's outline: the first one builds the course outline (cached per snapshot) and, in a new
    # course, chooses the learner's Variants; then the warm path, what each outline page costs.
    _, seconds, queries = _measure(lambda: api.get_user_outline(result.course_key, learner))
    print(f"  outline (cold) {seconds * 1000:6.1f} ms {queries:6d} queries")
    warm = [_measure(lambda: api.get_user_outline(result.course_key, learner)) for _ in range(20)]
    print(f"  outline (warm) median {statistics.median(w[1] for w in warm) * 1000:6.1f} ms "
          f"{warm[-1][2]:6d} queries")

    units = _units_the_learner_sees(runtime)
    timings, counts = [], []
    for unit_key in units:
        def render(unit_key=unit_key):
            with api.unit_of_work():
                fresh = api.get_runtime(learner, course_key=result.course_key)
                return fresh.render(fresh.get_block(unit_key), "student_view")

        _, seconds, queries = _measure(render)
        timings.append(seconds * 1000)
        counts.append(queries)
    if timings:
        print(f"  unit render   median {statistics.median(timings):6.1f} ms, worst {max(timings):6.1f} ms; "
              f"queries per unit (incl. runtime) min {min(counts)} max {max(counts)} over {len(units)} units")
    return result.course_key


def _units_the_learner_sees(runtime) -> list:
    """The usage keys of the Units in the learner's course, selectors resolved to the learner's Variants."""
    units, blocks = [], [runtime.get_block(runtime.root_usage_key)]
    while blocks:
        block = blocks.pop()
        if block.scope_ids.block_type == "vertical":
            units.append(block.scope_ids.usage_id)
        blocks.extend(block.get_children())
    return units


def _versions() -> int:
    from openedx_content.models_api import PublishableEntityVersion

    return PublishableEntityVersion.objects.count()


def _change_one_block(folder: Path) -> str:
    """Change the display name of one leaf block in an export copy; return the file changed."""
    for kind in ("problem", "html", "video"):
        for path in sorted((folder / kind).glob("*.xml")) if (folder / kind).is_dir() else []:
            text = path.read_text(encoding="utf-8")
            changed = re.sub(r'display_name="([^"]*)"', r'display_name="\1 (revised)"', text, count=1)
            if changed != text:
                path.write_text(changed, encoding="utf-8")
                return str(path.relative_to(folder))
    raise RuntimeError(f"no leaf block with a display_name in {folder}")


def bench_reimport(path: Path, course_key: str) -> None:
    """Re-import unchanged and with one block changed; load a pinned run's tree cold and warm."""
    from django.core.cache import cache

    from lc_runtime import api

    for label, prepare in (("re-import (same)", None), ("re-import (1 block)", _change_one_block)):
        with tempfile.TemporaryDirectory(prefix="lc-runtime-bench-copy-") as folder:
            copy = Path(folder) / "course"
            shutil.copytree(path, copy)
            note = f"; changed {prepare(copy)}" if prepare else ""
            before = _versions()
            result, seconds, queries = _measure(lambda copy=copy: api.import_olx(copy, course_key=course_key))
            print(f"  {label:<20}{seconds:7.2f} s  {queries:6d} queries  {_versions() - before:3d} versions created"
                  f"  (updated: {', '.join(result.updated_blocks) or 'none'}{note})")

    pinned_key = f"{course_key}Pinned"
    api.create_run(course_key, pinned_key, pin="current")
    cache.clear()
    _, seconds, queries = _measure(lambda: api.get_runtime(None, course_key=pinned_key))
    print(f"  pinned tree (cold) {seconds * 1000:7.1f} ms {queries:6d} queries")
    _, seconds, queries = _measure(lambda: api.get_runtime(None, course_key=pinned_key))
    print(f"  pinned tree (warm) {seconds * 1000:7.1f} ms {queries:6d} queries")


def main() -> int:
    _setup()
    from django.contrib.auth import get_user_model

    learner = get_user_model().objects.create_user("bench-learner")
    courses = [("demo", ROOT / "examples" / "demo-course")]
    shared = Path(os.environ.get("LC_RUNTIME_SHARED", ROOT.parent / "shared")) / "olx"
    for name in ("oxa-kitchen-sink", "openedx-test-course", "harvardx-studio-advanced"):
        if (shared / name / "course" / "course.xml").is_file():
            courses.append((name, shared / name / "course"))
    for label, path in courses:
        course_key = bench_course(label, path, learner)
        bench_reimport(path, course_key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
