"""
Every course tree is one snapshot: publishes (or, in draft mode, authors' changes) that commit while
readers load the tree, level by level, never give a reader (or the cache) a tree mixing two of them.

MariaDB under the standalone settings' READ COMMITTED: each of the loader's statements sees every
publish committed before it started, so a publish landing between two levels is what the loader must
survive. Real threads, each with its own connection; the tree cache misses on every read (a real cache
backend subclass, ``recording_cache.RecordingMissCache``) and records what would have been cached.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from lc_runtime import api
from lc_runtime.content.courses.api import load_course_tree, load_tree
from tests.conftest import DEMO_COURSE
from tests.reliability import recording_cache

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "mysql",
        reason="SQLite serialises them: its IMMEDIATE transactions take the one file lock; no publish lands mid-load",
    ),
    pytest.mark.django_db(transaction=True),
]

ROUNDS = 16
READERS = 4
RENAMED = ("chapter", "sequential", "vertical", "html", "problem")


def _rename_all(course_key, round_number: int, mode: str) -> None:
    """
    Rename every outline container and leaf of the course in its draft, in one transaction, then (in
    published mode) publish: each round is one change that readers see whole or not at all, at every level.
    """
    with api.unit_of_work():
        runtime = api.get_runtime(None, course_key=course_key, mode="draft")
        for record in list(runtime.iter_records()):
            if record.block_type not in RENAMED:
                continue
            block = runtime.get_block(runtime.usage_key_of(record.ref))
            block.display_name = f"{record.block_id} round {round_number}"
            block.save()
    if mode == "published":
        assert api.publish(course_key).publish_log_id is not None


@pytest.mark.parametrize("mode", ["published", "draft"])
def test_each_tree_read_during_changes_is_one_snapshot(settings, mode):
    settings.CACHES = {
        "default": {
            "BACKEND": "tests.reliability.recording_cache.RecordingMissCache",
            "LOCATION": "lc-runtime-snapshots",
        }
    }
    # Nothing kept loaded in this process either: every read goes to the database.
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "LOADED_TREES_BYTES": 0}
    recording_cache.WRITES.clear()
    course_key = api.import_olx(DEMO_COURSE).course_key
    # snapshot -> the tree there, read by the writer after its change, while nothing else changes it.
    snapshots = {}
    first = load_course_tree(course_key, mode=mode)
    snapshots[first.snapshot] = first.blocks
    reads: list = []
    errors: list[BaseException] = []
    done = threading.Event()

    def writer() -> None:
        try:
            for round_number in range(1, ROUNDS + 1):
                _rename_all(course_key, round_number, mode)
                tree = load_course_tree(course_key, mode=mode)
                snapshots[tree.snapshot] = tree.blocks
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            done.set()
            connection.close()

    def reader() -> None:
        try:
            while not done.is_set():
                with api.unit_of_work():  # like a learner's request: one transaction
                    tree = load_course_tree(course_key, mode=mode)
                reads.append((tree.snapshot, tree.blocks))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(READERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    assert errors == []
    assert len(snapshots) == ROUNDS + 1

    mixed = [snapshot for snapshot, blocks in reads if snapshots.get(snapshot) != blocks]
    assert mixed == [], f"{len(mixed)} of {len(reads)} tree reads were not the snapshot they claim"
    # What each load cached went under the key of the snapshot it really is.
    stored = [(key, load_tree(value)[0]) for key, value in recording_cache.WRITES if key.startswith("lc_runtime.tree:")]
    cached = [(key, tree) for key, tree in stored if tree.mode == mode]
    assert len(cached) >= len(reads)
    for key, tree in cached:
        assert key.endswith(f":{tree.snapshot}")
        assert snapshots[tree.snapshot] == tree.blocks
    # Readers really did see several snapshots, so publishes landed while they read.
    assert len({snapshot for snapshot, _ in reads}) > 1
