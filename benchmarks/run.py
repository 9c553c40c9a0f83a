"""
``make bench``: what a learner's request costs next to what the blocks themselves cost, the import,
Variants, outlines, memory and the CLI, on SQLite and (when it answers on 127.0.0.1:3306) MariaDB.
Writes ``docs/benchmarks.md`` and prints it.

Each database runs in its own process (``python -m benchmarks.run --database sqlite|mysql --json F``),
on a throwaway database; the parent writes the report. Unit renders are measured side by side, in
one interleaved run: for each repetition the floor, the warm render and the baseline (see
``benchmarks/floor.py``) one after the other, so that load on the machine falls on all three alike;
the cold render (the first learner request in a process after a publish, the shared cache holding
what the publish stored) in its own loop, since each needs a publish first. Medians and p90s; the
goals of issue 14 are checked at the end, and every one not met is said in bold with by how much.
Nothing is asserted about time in the test suite; query counts there are.

A course that fails to import, or a unit that fails to render, stops the run with an error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LC_RUNTIME_SHARED", ROOT.parent / "shared")) / "olx"
SHARED_COURSES = ("oxa-kitchen-sink", "openedx-test-course", "harvardx-studio-advanced")
HARVARDX_UNIT = "dad92079b01c4d6db22ed02ba0d090bc"  # "Advice for Live Courses": 7 html, 3 problems
REPEAT = int(os.environ.get("LC_RUNTIME_BENCH_REPEAT", "21"))
COLD_REPEAT = int(os.environ.get("LC_RUNTIME_BENCH_COLD_REPEAT", "7"))
MYSQL_BENCH_DB = "lc_runtime_bench"


# ---- measuring


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        if not sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT", "ROLLBACK")):
            self.count += 1
        return execute(sql, params, many, context)


def _measure(fn):
    """(result, milliseconds, queries) of one call."""
    from django.db import connection

    counter = _Counter()
    start = time.perf_counter()
    with connection.execute_wrapper(counter):
        result = fn()
    return result, (time.perf_counter() - start) * 1000, counter.count


def _stats(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "median": statistics.median(ordered),
        "p90": ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))],
        "n": len(ordered),
    }


def _setup(database: str, home: str) -> None:
    warnings.filterwarnings("ignore")
    logging.disable(logging.CRITICAL)  # capa logs a traceback for each problem that needs a sandbox
    os.environ["LC_RUNTIME_HOME"] = home
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lc_runtime.standalone.settings")
    if database == "mysql":
        import pymysql

        connection = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {MYSQL_BENCH_DB}")
            cursor.execute(f"CREATE DATABASE {MYSQL_BENCH_DB} CHARACTER SET utf8mb4")
        connection.close()
        os.environ.update(LC_RUNTIME_DB="mysql", LC_RUNTIME_DB_NAME=MYSQL_BENCH_DB)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# ---- unit renders: floor, warm, cold, baseline


def _forget_process_memory() -> None:
    """What a process that has not seen the latest publish lacks: its loaded trees and outlines."""
    from lc_runtime.content.courses.api import forget_loaded_trees
    from lc_runtime.outlines.api import forget_recent_outlines

    forget_loaded_trees()
    forget_recent_outlines()


def _republish_elsewhere(course_key, unit_key, round_number: int) -> None:
    """Change a block outside the measured unit (the course's first section's name) and publish."""
    from lc_runtime import api

    with api.unit_of_work():
        runtime = api.get_runtime(None, course_key=course_key, mode="draft")
        root = runtime.get_block(runtime.root_usage_key)
        section = runtime.get_block(root.children[0])
        section.display_name = f"Section, revision {round_number}"
        section.save()
    api.publish(course_key)


def bench_unit(label: str, course_key, unit_key, learner) -> dict:
    """Floor, warm and baseline interleaved; then cold; medians, p90s and queries of each."""
    from benchmarks.floor import floor_values, render_baseline, render_floor
    from lc_runtime import api
    from lc_runtime.content.courses.api import load_course_tree
    from lc_runtime.keys import to_usage_key

    unit_key = to_usage_key(unit_key)

    def warm():
        with api.unit_of_work():
            runtime = api.get_runtime(learner, course_key=course_key)
            return runtime.render(runtime.get_block(unit_key), "student_view").content

    for _ in range(3):
        warm()
    with api.unit_of_work():
        host = api.get_runtime(learner, course_key=course_key)
        values = floor_values(host, unit_key)
        host.render(host.get_block(unit_key), "student_view")
        tree = load_course_tree(course_key, mode="published")
        package_id = tree.learning_package_id
        unit_code = f"vertical.{unit_key.block_id}"

        def floor():
            return render_floor(host, values, unit_key)

        def baseline():
            return render_baseline(host, package_id, unit_code, learner.id)

        samples: dict[str, list[float]] = {"floor": [], "warm": [], "baseline": []}
        queries: dict[str, int] = {}
        for _ in range(REPEAT):
            for name, fn in (("floor", floor), ("warm", warm), ("baseline", baseline)):
                _, ms, count = _measure(fn)
                samples[name].append(ms)
                queries[name] = count
    cold = []
    for round_number in range(COLD_REPEAT):
        _republish_elsewhere(course_key, unit_key, round_number)
        _forget_process_memory()
        _, ms, count = _measure(warm)
        cold.append(ms)
        queries["cold"] = count
    samples["cold"] = cold
    row = {"label": label, "blocks": len(values) - 1, "course_blocks": len(tree.blocks)}
    for name, taken in samples.items():
        row[name] = {**_stats(taken), "queries": queries[name]}
    print(f"  {label}: " + ", ".join(f"{name} {row[name]['median']:.1f} ms" for name in samples), flush=True)
    return row


# ---- courses


def _import(path: Path, **kwargs):
    from lc_runtime import api

    result, ms, queries = _measure(lambda: api.import_olx(path, **kwargs))
    return result, ms / 1000, queries


def _units_seen(course_key, learner) -> list:
    from lc_runtime import api

    runtime = api.get_runtime(learner, course_key=course_key)
    units, blocks = [], [runtime.get_block(runtime.root_usage_key)]
    while blocks:
        block = blocks.pop()
        if block.scope_ids.block_type == "vertical":
            units.append(block.scope_ids.usage_id)
        blocks.extend(block.get_children())
    return units


def bench_shared_course(name: str, path: Path, learner) -> dict:
    """Import, render every unit the learner reaches, re-import unchanged: the figures per course."""
    from lc_runtime import api

    result, seconds, queries = _import(path)
    units = _units_seen(result.course_key, learner)
    renders = []
    for unit_key in units:
        def render(unit_key=unit_key):
            with api.unit_of_work():
                runtime = api.get_runtime(learner, course_key=result.course_key)
                return runtime.render(runtime.get_block(unit_key), "student_view")

        _, ms, _count = _measure(render)
        renders.append(ms)
    if not units:
        raise RuntimeError(f"{name}: the learner reaches no unit")
    with tempfile.TemporaryDirectory(prefix="lc-runtime-bench-copy-") as folder:
        copy = Path(folder) / "course"
        shutil.copytree(path, copy)
        again, re_seconds, re_queries = _import(copy, course_key=result.course_key)
    row = {
        "name": name,
        "course_key": str(result.course_key),
        "blocks": result.block_count,
        "import_s": seconds,
        "import_queries_per_block": queries / result.block_count,
        "reimport_s": re_seconds,
        "reimport_updated": len(again.updated_blocks),
        "units": len(units),
        "unit_render": _stats(renders),
    }
    print(f"  {name}: import {seconds:.2f} s ({row['import_queries_per_block']:.1f} queries/block), "
          f"re-import {re_seconds:.2f} s, {len(units)} units rendered, median {row['unit_render']['median']:.1f} ms",
          flush=True)
    return row


def bench_outlines(folder: Path, learner) -> list[dict]:
    from benchmarks.courses import write_course
    from lc_runtime import api

    rows = []
    for blocks, units, components in ((10, 2, 3), (100, 9, 9), (900, 80, 10)):
        result, _, _ = _import(write_course(folder / f"outline-{blocks}", f"Outline{blocks}", units=units,
                                            components=components))
        cold = []
        for _ in range(COLD_REPEAT):
            _forget_process_memory()
            cold.append(_measure(lambda key=result.course_key: api.get_user_outline(key, learner)))
        cold_ms, cold_queries = statistics.median(c[1] for c in cold), cold[-1][2]
        warm = [_measure(lambda key=result.course_key: api.get_user_outline(key, learner)) for _ in range(REPEAT)]
        rows.append({"blocks": result.block_count, "cold_ms": cold_ms, "cold_queries": cold_queries,
                     "warm": {**_stats([w[1] for w in warm]), "queries": warm[-1][2]}})
    return rows


def bench_variants(learners: int = 1000) -> dict:
    """Variants of every selector of the selector fixture course, drawn and stored for new learners."""
    from django.contrib.auth import get_user_model

    from lc_runtime import api

    result, _, _ = _import(ROOT / "tests" / "fixtures" / "selector-course")
    selectors = [record for record in api.get_runtime(None, course_key=result.course_key).iter_records()
                 if record.pool_entity_id is not None]
    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"variant-learner-{index}") for index in range(learners)]
    )
    users = list(get_user_model().objects.filter(username__startswith="variant-learner-"))

    def draw_all():
        for user in users:
            with api.unit_of_work():
                runtime = api.get_runtime(user, course_key=result.course_key)
                for record in selectors:
                    try:
                        runtime.variant_of(runtime.usage_key_of(record.ref))
                    except Exception:  # noqa: BLE001 - a selector inside another one's unchosen pool
                        continue

    _, ms, queries = _measure(draw_all)
    return {"learners": learners, "selectors": len(selectors), "seconds": ms / 1000,
            "per_learner_ms": ms / learners, "queries_per_learner": queries / learners}


def bench_memory(course_key) -> dict:
    """The stored form and loaded memory of a course's published tree."""
    import tracemalloc

    from lc_runtime.content.courses.api import dump_tree, load_course_tree, load_tree

    tree = load_course_tree(course_key, mode="published")
    stored = dump_tree(tree)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    loaded, estimate = load_tree(stored)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    blocks = len(loaded.blocks)
    from lc_runtime.conf import get_setting

    limit = int(get_setting("CACHE_ITEM_BYTES"))
    return {"blocks": blocks, "stored_bytes": len(stored), "largest_item": min(len(stored), limit),
            "items": -(-len(stored) // limit), "memory_bytes": after - before,
            "memory_per_block": (after - before) / blocks, "estimate_bytes": estimate}


def bench_cli(home: str) -> dict:
    """
    Wall time of ``lc-runtime --help`` and ``lc-runtime tree`` on an existing home (median of 3, after one
    call not counted). As installed Python runs it: with compiled bytecode kept, even where the
    environment says not to write it (``PYTHONDONTWRITEBYTECODE``, set on some CI machines), which would
    make every call compile every module again.
    """
    cli = Path(sys.executable).with_name("lc-runtime")
    env = {**os.environ, "LC_RUNTIME_HOME": home}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    found = {}
    for name, args in (("help", ["--help"]), ("tree", ["tree", "course-v1:LcBench+Gen+Outline10"])):
        subprocess.run([str(cli), *args], env=env, check=True, capture_output=True)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run([str(cli), *args], env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        found[name] = statistics.median(times)
    return found


def run_one(database: str) -> dict:
    home = tempfile.mkdtemp(prefix="lc-runtime-bench-")
    _setup(database, home)
    from django.contrib.auth import get_user_model
    from django.db import connection

    from benchmarks.courses import write_course

    learner = get_user_model().objects.create_user("bench-learner")
    report: dict = {"database": f"{connection.vendor} {connection.Database.__name__}", "units": [], "courses": []}
    print(f"\n== {database} ==", flush=True)
    folder = Path(home) / "generated"
    for label, units, components in (("1 component", 1, 1), ("10 components, 50-block course", 4, 10),
                                      ("10 components, 900-block course", 81, 10), ("50 components", 1, 50)):
        result, _, _ = _import(write_course(folder / label.replace(" ", "_").replace(",", ""),
                                            f"R{units}x{components}", units=units, components=components))
        report["units"].append(bench_unit(label, result.course_key, f"{result.course_key}".replace(
            "course-v1:", "block-v1:") + "+type@vertical+block@unit-0", learner))
    for name in SHARED_COURSES:
        path = SHARED / name / "course"
        if not (path / "course.xml").is_file():
            print(f"  {name}: not here ({path}), left out", flush=True)
            continue
        row = bench_shared_course(name, path, learner)
        report["courses"].append(row)
        if name == "harvardx-studio-advanced":
            unit = row["course_key"].replace("course-v1:", "block-v1:") + f"+type@vertical+block@{HARVARDX_UNIT}"
            report["units"].append(bench_unit("HarvardX unit (7 html, 3 problems)", row["course_key"], unit, learner))
            report["memory"] = bench_memory(row["course_key"])
    report["outlines"] = bench_outlines(folder, learner)
    report["variants"] = bench_variants()
    report["cli"] = bench_cli(home)
    return report


# ---- the report


def _machine() -> str:
    cores = os.cpu_count()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"{platform.machine()}, {cores} cores, Python {platform.python_version()}, load average {load} at start"


def _versions() -> str:
    from importlib.metadata import version

    names = ("openedx-core", "XBlock", "Django", "xblocks-contrib")
    found = []
    for name in names:
        try:
            found.append(f"{name} {version(name)}")
        except Exception:  # noqa: BLE001
            continue
    return ", ".join(found)


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _goals(report: dict) -> list[tuple[str, bool, str]]:
    """(goal, met, figures) for each of issue 14's goals this run measures."""
    goals = []
    for row in report["units"]:
        ratio = row["warm"]["median"] / row["floor"]["median"]
        goals.append((f"warm render within 1.2x the floor: {row['label']}", ratio <= 1.2, f"{ratio:.2f}x"))
    harvard = next((row for row in report["units"] if row["label"].startswith("HarvardX")), None)
    if harvard:
        speedup = harvard["baseline"]["median"] / harvard["cold"]["median"]
        goals.append(("cold HarvardX render at least 2x faster than the baseline", speedup >= 2,
                      f"{speedup:.2f}x faster"))
    small = next(row for row in report["units"] if "50-block" in row["label"])
    large = next(row for row in report["units"] if "900-block" in row["label"])
    spread = large["cold"]["median"] / small["cold"]["median"]
    goals.append(("cold render independent of course size (900 vs 50 blocks within 20 %)", spread <= 1.2,
                  f"{spread:.2f}x"))
    course = next((row for row in report["courses"] if row["name"] == "harvardx-studio-advanced"), None)
    if course:
        limit = 8 if report["database"].startswith("sqlite") else 15
        goals.append((f"import of harvardx-studio-advanced under {limit} s", course["import_s"] < limit,
                      f"{course['import_s']:.1f} s"))
        goals.append(("import at most 12 queries per block", course["import_queries_per_block"] <= 12,
                      f"{course['import_queries_per_block']:.1f}"))
        goals.append(("re-import unchanged under 2 s", course["reimport_s"] < 2, f"{course['reimport_s']:.1f} s"))
    if "memory" in report:
        goals.append(("900-block course's cache items under 512 KB", report["memory"]["largest_item"] < 512_000,
                      f"{report['memory']['largest_item']:,} bytes"))
    for name, seconds in report["cli"].items():
        goals.append((f"`lc-runtime {name}` under 1 s", seconds < 1, f"{seconds:.2f} s"))
    return goals


def _markdown(reports: list[dict], machine: str) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`benchmarks/run.py`); do not edit by hand. Floor: the same blocks built",
        "from in-memory field data by a bare XBlock runtime. Baseline: edx-platform's upstream Learning Core",
        "runtime's reads, block by block (`benchmarks/floor.py`). Warm: a learner's request with the course",
        "loaded. Cold: a learner's first request in a process after a publish (the shared cache holds what",
        "the publish stored; the process's loaded trees and outlines are empty). Floor, warm and baseline",
        f"interleaved, {REPEAT} repetitions; cold {COLD_REPEAT}. Times in ms: median / p90; q = queries.",
        "",
        f"Machine: {machine}. Versions: {_versions()}. Commit: {_commit()}.",
    ]
    for report in reports:
        lines += ["", f"## {report['database']}", "", "### Learner unit render", "",
                  "| unit | blocks | floor | warm | cold | baseline | warm/floor | cold/baseline "
                  "| q warm / cold / baseline |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for row in report["units"]:
            def cell(name, row=row):
                return f"{row[name]['median']:.1f} / {row[name]['p90']:.1f}"

            lines.append(
                f"| {row['label']} | {row['blocks']} of {row['course_blocks']} | {cell('floor')} | {cell('warm')} | "
                f"{cell('cold')} | {cell('baseline')} | {row['warm']['median'] / row['floor']['median']:.2f}x | "
                f"{row['cold']['median'] / row['baseline']['median']:.2f}x | "
                f"{row['warm']['queries']} / {row['cold']['queries']} / {row['baseline']['queries']} |"
            )
        lines += ["", "### Shared courses", "",
                  "| course | blocks | import | queries/block | re-import unchanged | units "
                  "| unit render median / p90 |",
                  "|---|---|---|---|---|---|---|"]
        for row in report["courses"]:
            lines.append(
                f"| {row['name']} | {row['blocks']} | {row['import_s']:.2f} s | "
                f"{row['import_queries_per_block']:.1f} | "
                f"{row['reimport_s']:.2f} s | {row['units']} | {row['unit_render']['median']:.1f} / "
                f"{row['unit_render']['p90']:.1f} ms |"
            )
        lines += ["", "### Outlines, Variants, memory, CLI", "", "| what | figure |", "|---|---|"]
        for row in report["outlines"]:
            lines.append(f"| learner outline, {row['blocks']}-block course | cold (median) {row['cold_ms']:.1f} ms "
                         f"({row['cold_queries']} q), warm {row['warm']['median']:.1f} ms "
                         f"({row['warm']['queries']} q) |")
        variants = report["variants"]
        lines.append(f"| Variants of {variants['selectors']} selectors for {variants['learners']} new learners | "
                     f"{variants['seconds']:.1f} s, {variants['per_learner_ms']:.1f} ms and "
                     f"{variants['queries_per_learner']:.1f} queries per learner |")
        if "memory" in report:
            memory = report["memory"]
            lines.append(f"| HarvardX tree ({memory['blocks']} blocks): stored form | {memory['stored_bytes']:,} bytes "
                         f"compressed in {memory['items']} cache item(s), "
                         f"{memory['stored_bytes'] / memory['blocks']:.0f} "
                         "bytes per block |")
            lines.append(f"| HarvardX tree loaded in a process | {memory['memory_bytes']:,} bytes, "
                         f"{memory['memory_per_block']:.0f} bytes per block "
                         f"(budget estimate {memory['estimate_bytes']:,}) |")
        for name, seconds in report["cli"].items():
            lines.append(f"| `lc-runtime {name}` wall | {seconds:.2f} s |")
        lines += ["", "### Goals", ""]
        for goal, met, figure in _goals(report):
            lines.append(f"- {goal}: {figure} — met" if met else f"- **not met: {goal}: {figure}**")
    return "\n".join(lines) + "\n"


def _mysql_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 3306), timeout=1):
            return True
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "mysql"], help="run one database here (a child run)")
    parser.add_argument("--json", help="where a child run writes its figures")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"), help="the report to write")
    args = parser.parse_args(argv)
    if args.database:
        report = run_one(args.database)
        Path(args.json).write_text(json.dumps(report))
        return 0
    machine = _machine()
    databases = ["sqlite"] + (["mysql"] if _mysql_answers() else [])
    reports = []
    with tempfile.TemporaryDirectory(prefix="lc-runtime-bench-out-") as folder:
        for database in databases:
            out = Path(folder) / f"{database}.json"
            subprocess.run([sys.executable, "-m", "benchmarks.run", "--database", database, "--json", str(out)],
                           cwd=ROOT, check=True)
            reports.append(json.loads(out.read_text()))
    text = _markdown(reports, machine)
    Path(args.out).write_text(text)
    print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
