"""
The ``lc-runtime`` command.

    lc-runtime import PATH [--course-key KEY] [--strict] [--no-publish] [--json]
    lc-runtime export KEY DEST [--draft] [--overwrite] [--json]   (DEST: a folder, or a path ending in .tar.gz or .zip)
    lc-runtime publish KEY
    lc-runtime variants USAGE_KEY [--json]
    lc-runtime tree KEY [--user NAME] [--staff | --draft]
    lc-runtime render USAGE_KEY --user NAME [--view student_view] [--staff | --draft] [--text | --pretty]
    lc-runtime handle USAGE_KEY HANDLER [SUFFIX] --user NAME [--post NAME=VALUE ...]
    lc-runtime runs list [KEY] | create FROM_KEY NEW_KEY | pin KEY [SNAPSHOT] | unpin KEY | set KEY
                    | snapshots KEY   (each with --json; create and set take --start, --end, ...)
    lc-runtime roles grant KEY USERNAME ROLE | revoke KEY USERNAME ROLE | list KEY   (each with --json)
    lc-runtime groups assign KEY USERNAME --partition ID --group ID | remove KEY USERNAME --partition ID
                      | list KEY [--partition ID]   (each with --json)
    lc-runtime cutover-state KEY [--from-jsonl PATH] [--copy-state] [--batch-size N] [--json]
    lc-runtime serve [--port 8000] [--host 127.0.0.1]               (the workbench in a browser)
    lc-runtime users create NAME [--staff] [--password P]

It runs with ``lc_runtime.standalone.settings`` unless ``DJANGO_SETTINGS_MODULE`` names others, and
brings that database up to date first. ``--user NAME`` names a Django user, created (as a learner)
if missing, so the demo can show different learners; what the user may see is their roles in the
course run (``LC_RUNTIME["ROLES"]``, given with ``roles grant``). ``--draft`` (the draft, as an author)
and ``--staff`` (the published course, as course staff) are for one command what a role is for good: a
user whose roles already make them that is used as they are, anyone else counts as Django staff for
the command, never saved (the default role provider makes Django staff ``staff`` in every course).
``roles`` and ``groups`` name existing users only: an unknown name is an error, not a new user.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import re
import sys
import time
import warnings

STANDALONE_SETTINGS = "lc_runtime.standalone.settings"
DRAFT_STAFF = (
    "unless their course roles let them see drafts, the user counts as Django staff for this command only "
    "(the stored user is not changed)"
)
ACT_AS_STAFF = (
    "see the published course as its staff do: unless their course roles make them course staff, the user "
    "counts as Django staff for this command only (the stored user is not changed)"
)
ROLE_NAMES = "staff, instructor, limited_staff or beta_tester"  # lc_runtime.content.roles.api.COURSE_ROLES


def setup_standalone(home: str | os.PathLike | None = None) -> None:
    """
    Django with the standalone settings (unless configured otherwise), and its database migrated: what every
    command needs, and :func:`lc_runtime.setup` (see there). ``home`` sets ``LC_RUNTIME_HOME`` first.
    """
    from django.conf import settings

    if home is not None:
        if settings.configured and os.environ.get("LC_RUNTIME_HOME") != str(home):
            raise RuntimeError(f"Django is configured already; lc-runtime's home cannot become {home} now")
        os.environ["LC_RUNTIME_HOME"] = str(home)
    # fs (used by XBlock) still imports pkg_resources; its deprecation notice is noise for CLI users.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    if not settings.configured:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", STANDALONE_SETTINGS)
    import django

    django.setup()
    if os.environ.get("DJANGO_SETTINGS_MODULE") == STANDALONE_SETTINGS and _migrations_pending():
        _migrate()



def _database_problem(error: Exception) -> str:
    """One line that says which database could not be used, why, and what to do."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    engine = database["ENGINE"].rsplit(".", 1)[-1]
    where = database["NAME"] if engine == "sqlite3" else (
        f"{database['NAME']!r} on {database.get('HOST') or 'localhost'}:{database.get('PORT') or 'default port'}"
    )
    reason = error.args[1] if len(error.args) > 1 else str(error)
    advice = ""
    if engine == "mysql" and error.args and error.args[0] == 1049:
        advice = (f"; create it (CREATE DATABASE {database['NAME']} CHARACTER SET utf8mb4) or name another "
                  "with LC_RUNTIME_DB_NAME")
    elif engine == "mysql":
        advice = "; check LC_RUNTIME_DB_HOST, _PORT, _USER and _PASSWORD"
    return f"cannot use the {engine} database {where}: {reason}{advice}"


def _migrate() -> None:
    """
    Bring the standalone database up to date; on a terminal, say so and count the migrations as they run
    (a new home takes seconds to a minute), silent elsewhere.
    """
    from django.conf import settings
    from django.core.management import call_command

    if not sys.stderr.isatty():
        call_command("migrate", verbosity=0, interactive=False)
        return
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    total = len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    where = settings.DATABASES["default"]["NAME"]
    progress = _MigrationProgress(f"lc-runtime: preparing the database {where}", total)
    try:
        call_command("migrate", verbosity=1, interactive=False, stdout=progress)
    finally:
        progress.done()


class _MigrationProgress(io.StringIO):
    """The output of ``migrate``, turned into one line that counts the migrations applied (on stderr)."""

    def __init__(self, label: str, total: int) -> None:
        super().__init__()
        self.label, self.total, self.applied = label, total, 0
        self._show()

    def write(self, text: str) -> int:
        if "Applying " in text:
            self.applied += text.count("Applying ")
            self._show()
        return len(text)

    def _show(self) -> None:
        sys.stderr.write(f"\r{self.label}: {self.applied} of {self.total} migrations")
        sys.stderr.flush()

    def done(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()


def check_arguments(args: argparse.Namespace) -> str | None:
    """
    What is wrong with the arguments that can be told without the database (a missing export, a key that
    is not a key), so that such errors come at once, before Django starts and the database is prepared.
    """
    from lc_runtime.keys import InvalidKey, to_course_key, to_usage_key

    if getattr(args, "command", None) == "serve" and _serves_others_with_the_development_secret(args.host):
        return (f"serve refused on {args.host}: other machines could reach it, and its SECRET_KEY is the development "
                "one anyone can read, so anyone could sign sessions and handler URLs. Set LC_RUNTIME_SECRET_KEY, or "
                "serve on 127.0.0.1")
    path = getattr(args, "path", None)
    if getattr(args, "command", None) == "import" and path and "://" not in path and not os.path.exists(path):
        return f"import refused, nothing was written: {path}: no such file or folder"
    try:
        if getattr(args, "course_key", None):
            to_course_key(args.course_key)
        if getattr(args, "usage_key", None):
            to_usage_key(args.usage_key)
    except InvalidKey as exc:
        return str(exc)
    return None


def _serves_others_with_the_development_secret(host: str) -> bool:
    """Whether ``serve`` would listen beyond this machine with the standalone settings' public development key."""
    standalone = os.environ.get("DJANGO_SETTINGS_MODULE", STANDALONE_SETTINGS) == STANDALONE_SETTINGS
    loopback = host in ("localhost", "::1") or host.startswith("127.")
    return standalone and not loopback and not os.environ.get("LC_RUNTIME_SECRET_KEY")


def _migrations_pending() -> bool:
    """
    Whether a migration on disk is not applied to the database, found without loading the migrations.

    ``migrate`` imports every migration of every app to build its graph (0.3 s) even when there is
    nothing to do; a listing of the migration folders next to the applied ones (one query) tells the
    usual case apart. Anything unclear (a squashed migration, no table yet) counts as pending: migrate
    then decides.
    """
    from importlib.util import find_spec

    from django.apps import apps
    from django.db import DatabaseError, connection
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.recorder import MigrationRecorder

    on_disk = set()
    for app in apps.get_app_configs():
        module, _explicit = MigrationLoader.migrations_module(app.label)
        spec = find_spec(module) if module else None
        for folder in (spec.submodule_search_locations or []) if spec else []:
            # As Django's loader: modules named _... or ~... are not migrations.
            on_disk.update((app.label, name[:-3]) for name in os.listdir(folder)
                           if name.endswith(".py") and not name.startswith(("_", "~")))
    try:
        applied = set(MigrationRecorder(connection).applied_migrations())
    except DatabaseError:
        return True
    return not on_disk <= applied


def _user(name: str | None, *, course_key=None, acting_as: str | None = None):
    """
    The Django user called ``name``, created (as a learner) if missing; None without a name.

    ``acting_as`` (``"staff"``: ``--staff``; ``"author"``: ``--draft``) makes the user count as that in
    ``course_key`` for this command. A user whose roles there already say so is used as they are, so
    blocks see their real role (an instructor stays an instructor); anyone else is made Django staff
    in memory, never saved, which the default role provider counts as ``staff`` in every course.
    """
    if name is None:
        return None
    from django.contrib.auth import get_user_model

    from lc_runtime import api

    user, _created = get_user_model().objects.get_or_create(username=name)
    if acting_as is not None:
        enough = api.has_author_access if acting_as == "author" else api.has_staff_access
        if not enough(api.course_roles(user, course_key)):
            user.is_staff = True  # for this command only: never saved
    return user


def _existing_user(name: str):
    """The Django user called ``name``; CommandFailed if there is none (roles and groups create no users)."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=name).first()
    if user is None:
        raise CommandFailed(f"no user named {name!r}: create the user first (nothing was written)")
    return user


def _usernames(user_ids) -> dict[int, str | None]:
    """The username of each id, in one query (None for an id that names no user any more)."""
    from django.contrib.auth import get_user_model

    found = dict(get_user_model().objects.filter(pk__in=set(user_ids)).values_list("pk", "username"))
    return {user_id: found.get(user_id) for user_id in user_ids}


def _named(user_id: int, username: str | None) -> str:
    return f"{username} ({user_id})" if username is not None else f"(no user {user_id})"


# Progress tags that count a file (the importer calls progress("static") per static file); any other
# tag is the OLX tag of a block.
FILE_PROGRESS_TAGS = frozenset({"static"})


class _Progress:
    """
    An import's progress on a terminal: one line, redrawn at most ten times a second, with a bar that
    moves while work goes on and the blocks and files imported so far (the export's size is not known
    before it is read, so there is no percentage). Silent when stderr is not a terminal (CI, pipes,
    ``--json`` consumers), so logs and machine-read output stay clean.
    """

    WIDTH = 12
    INTERVAL = 0.1

    def __init__(self, label: str, *, stream=None) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.count = 0  # blocks
        self.files = 0
        self.enabled = self.stream.isatty() and not os.environ.get("CI")
        self._frame = 0
        self._drawn_at = 0.0

    def __call__(self, tag: str) -> None:
        if tag in FILE_PROGRESS_TAGS:
            self.files += 1
        else:
            self.count += 1
        now = time.monotonic()
        if self.enabled and now - self._drawn_at >= self.INTERVAL:
            self._drawn_at = now
            self._frame += 1
            self._draw(f"({tag})")

    def _bar(self) -> str:
        position = self._frame % (2 * self.WIDTH - 2)
        position = position if position < self.WIDTH else 2 * self.WIDTH - 2 - position
        return "[" + " " * position + "=" + " " * (self.WIDTH - 1 - position) + "]"

    def _counts(self) -> str:
        return f"{self.count} blocks, {self.files} files"

    def _draw(self, note: str) -> None:
        line = f"\r{self.label} {self._bar()} {self._counts()} {note}"
        print(f"{line:<100}", end="", file=self.stream, flush=True)

    def done(self) -> None:
        if self.enabled:
            print(f"\r{f'{self.label}: {self._counts()}.':<100}", file=self.stream)


def _print_changed(label: str, refs: list[str], limit: int = 20) -> None:
    if not refs:
        return
    shown = ", ".join(refs[:limit])
    more = f" and {len(refs) - limit} more" if len(refs) > limit else ""
    print(f"  {label}: {shown}{more}")


class CommandFailed(Exception):
    """A command could not do its work: the message says why, in one line (exit status 2)."""


def cmd_import(args) -> int:
    from lc_runtime import api

    progress = _Progress(f"Importing {args.path}")
    try:
        result = api.import_olx(
            args.path, course_key=args.course_key, strict=args.strict, publish=not args.no_publish, progress=progress
        )
    except api.OlxError as exc:
        progress.done()
        raise CommandFailed(f"import refused, nothing was written: {exc}") from exc
    progress.done()
    if _printed_as_json(args, result):
        return 0
    print(f"Imported {result.course_key}: {result.block_count} blocks ({_counts_by_type(result)})")
    print(f"  versions: {result.created} created, {result.updated} updated, {result.unchanged} unchanged")
    if result.static_files.files or result.static_files.deleted:
        static = result.static_files
        print(f"  static files: {static.files} ({static.created} new, {static.updated} changed, "
              f"{static.unchanged} unchanged, {static.deleted} removed)")
    if result.updated_blocks or (result.created_blocks and result.unchanged):  # what changed since last time
        _print_changed("new", result.created_blocks)
        _print_changed("changed", result.updated_blocks)
    if result.published and result.published.publish_log_id:
        print(f"  published {result.published.entities_published} entities")
    for problem in result.problems:
        print(f"  problem: {problem}")
    if result.draft_units:
        print(f"  drafts: {len(result.draft_units)} unpublished unit(s) imported as drafts")
    if result.warnings:
        print(f"  {len(result.warnings)} warning(s) (unknown attributes, unknown block types): --json lists them")
    return 0


def _printed_as_json(args, result) -> bool:
    """With ``--json``, print the result as JSON and say so."""
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    return bool(args.json)


def _counts_by_type(result) -> str:
    return ", ".join(f"{n} {t}" for t, n in sorted(result.blocks_by_type.items()))


def cmd_export(args) -> int:
    from lc_runtime import api

    result = api.export_olx(
        args.course_key, args.dest, mode="draft" if args.draft else "published", overwrite=args.overwrite
    )
    if _printed_as_json(args, result):
        return 0
    print(f"Exported {result.course_key} ({result.mode}) to {result.destination}:")
    print(f"  {result.block_count} blocks ({_counts_by_type(result)})")
    print(f"  {result.course_files} course files (about, info, tabs), {result.static_files} static files")
    if result.draft_units:
        print(f"  drafts: {len(result.draft_units)} unit(s) with unpublished changes")
    for warning in result.warnings:
        print(f"  warning: {warning}")
    return 0


def cmd_publish(args) -> int:
    from lc_runtime import api

    summary = api.publish(args.course_key)
    print(f"Published {summary.entities_published} entities of {args.course_key}")
    return 0


def _acting_as(args) -> str | None:
    """What ``--draft`` / ``--staff`` ask the user to count as (see :func:`_user`)."""
    if args.draft:
        return "author"
    return "staff" if args.staff else None


def cmd_tree(args) -> int:
    from lc_runtime import api

    user = _user(args.user, course_key=args.course_key, acting_as=_acting_as(args))
    with api.unit_of_work():
        runtime = api.get_runtime(user, course_key=args.course_key, mode="draft" if args.draft else "published")

        # Titles as stored (each version's display name): no block is built, so no block's code is loaded.
        def walk(usage_key, depth: int) -> None:
            record = runtime.record_of(usage_key)
            print(f"{'  ' * depth}{record.block_type:<11} {record.title or ''}  [{usage_key}]")
            for child in runtime.child_keys(usage_key):
                walk(child, depth + 1)

        runtime.get_block(runtime.root_usage_key)  # what the user may reach is decided here, as for a page
        walk(runtime.root_usage_key, 0)
    return 0


def cmd_outline(args) -> int:
    from datetime import datetime

    from lc_runtime import api

    at = None
    if args.at:
        try:
            at = datetime.fromisoformat(args.at.replace("Z", "+00:00"))
        except ValueError as exc:
            raise CommandFailed(f"--at {args.at!r} is not an ISO 8601 date") from exc
        if at.tzinfo is None:
            raise CommandFailed(f"--at {args.at!r} needs a time zone (2027-01-01T00:00:00Z)")
    viewer = _user(args.user, course_key=args.course_key, acting_as="staff" if args.view_as else None)
    view_as = _existing_user(args.view_as) if args.view_as else None
    with api.unit_of_work():
        outline = api.get_user_outline(args.course_key, viewer, at=at, view_as=view_as)

    def state(entry) -> str:
        return "" if entry.accessible else f"  (locked by {entry.closed_by}: {entry.reason})"

    def when(value) -> str:
        return value.isoformat() if value else "-"

    if args.json:
        data = dataclasses.asdict(outline)
        data["hidden"] = {str(key): closure for key, closure in data["hidden"].items()}
        print(json.dumps(data, indent=2, default=str))
        return 0
    for section in outline.sections:
        print(f"{section.display_name}  [{section.usage_key}]{state(section)}")
        for sequence in section.sequences:
            graded = f" graded ({sequence.format})" if sequence.graded else ""
            print(f"  {sequence.display_name}  start {when(sequence.start)} due {when(sequence.due)}{graded}"
                  f"{state(sequence)}")
            for unit in sequence.units:
                print(f"    {unit.display_name}{state(unit)}")
    for usage_key, closure in outline.hidden.items():
        print(f"hidden: {usage_key} ({closure.processor}: {closure.reason})")
    return 0


_BLOCK_TAGS = (
    ("address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset", "figure", "footer")
    + ("form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre")
    + ("section", "table", "tr", "ul")
)


def _as_text(html: str) -> str:
    from lxml import html as lxml_html

    document = lxml_html.fromstring(f"<div>{html}</div>")
    # capa keeps a problem's HTML in its wrapper's data-content attribute, and its JavaScript puts it in
    # the page in place of "Loading…": read it as the browser shows it.
    for deferred in document.xpath("//*[@data-content]"):
        shown = lxml_html.fragment_fromstring(deferred.get("data-content"), create_parent="div")
        for child in list(deferred):
            deferred.remove(child)
        deferred.text = None
        deferred.append(shown)
    for hidden in document.xpath("//script|//style"):
        hidden.drop_tree()
    for block in document.iter(*_BLOCK_TAGS):  # a block element's text starts and ends a line
        block.text = "\n" + (block.text or "")
        block.tail = "\n" + (block.tail or "")
    lines = (re.sub(r"\s+", " ", line).strip() for line in document.text_content().splitlines())
    return "\n".join(line for line in lines if line)


_KEEP_WHITESPACE = {"pre", "textarea", "script", "style"}


def _indented(html: str) -> str:
    """``html`` with nested elements on indented lines, for reading: text and inline markup stay as they are."""
    from lxml import etree
    from lxml import html as lxml_html

    def indent(element, depth: int) -> None:
        children = list(element)
        holds_text = (element.text or "").strip() or any((child.tail or "").strip() for child in children)
        if not children or holds_text or element.tag in _KEEP_WHITESPACE:
            return
        element.text = "\n" + "  " * (depth + 1)
        for child in children:
            indent(child, depth + 1)
            child.tail = "\n" + "  " * (depth + 1)
        children[-1].tail = "\n" + "  " * depth

    wrapper = lxml_html.fragment_fromstring(html, create_parent="div")
    indent(wrapper, -1)
    parts = [wrapper.text or ""] + [etree.tostring(child, method="html", encoding="unicode") for child in wrapper]
    return "".join(parts).strip()


def cmd_render(args) -> int:
    from lc_runtime import api
    from lc_runtime.keys import to_usage_key

    key = to_usage_key(args.usage_key)
    user = _user(args.user, course_key=key.course_key, acting_as=_acting_as(args))
    with api.unit_of_work():
        runtime = api.get_runtime(user, course_key=key.course_key, mode="draft" if args.draft else "published")
        fragment = runtime.render(runtime.get_block(key), args.view)
    if args.text:
        print(_as_text(fragment.content))
    else:
        print(_indented(fragment.content) if args.pretty else fragment.content)
    return 0


def cmd_handle(args) -> int:
    import webob

    from lc_runtime import api
    from lc_runtime.keys import to_usage_key

    key = to_usage_key(args.usage_key)
    user = _user(args.user)
    post = dict(item.split("=", 1) for item in args.post)
    with api.unit_of_work():
        runtime = api.get_runtime(user, course_key=key.course_key)
        request = webob.Request.blank("/", POST=post) if post else webob.Request.blank("/")
        response = runtime.handle(runtime.get_block(key), args.handler, request, args.suffix)
    print(response.text)
    return 0


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``import`` (shared with the ``lc_runtime_import`` management command)."""
    parser.add_argument("path", help="the export: a folder, a parent folder holding course/, a .tar.gz or a .zip")
    parser.add_argument("--course-key", help="course-v1 key to import as (default: the run course.xml names)")
    parser.add_argument("--strict", action="store_true", help="refuse the whole import on any problem")
    parser.add_argument("--no-publish", action="store_true", help="leave the imported content as a draft")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``export`` (for a management command to share)."""
    parser.add_argument("course_key")
    parser.add_argument("dest", help="a folder (missing or empty), or a path ending in .tar.gz or .zip")
    parser.add_argument("--draft", action="store_true",
                        help="export the draft course (default: the published one, unpublished units under drafts/)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier export at DEST")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


_RUN_SETTING_OPTIONS = ("start", "end", "enrollment_start", "enrollment_end")


def _add_run_setting_options(parser: argparse.ArgumentParser) -> None:
    for name in _RUN_SETTING_OPTIONS:
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, metavar="DATE",
                            help=f"the run's own {name.replace('_', ' ')} (ISO 8601; 'none' removes it)")


def add_runs_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``runs`` (shared with the ``lc_runtime_runs`` management command)."""
    actions = parser.add_subparsers(dest="runs_action", required=True, metavar="ACTION")

    p = actions.add_parser("list", help="every run, or the runs sharing KEY's package")
    p.add_argument("course_key", nargs="?", help="list only the runs that share this run's package")

    p = actions.add_parser("create", help="a new run of the same package: no content is copied")
    p.add_argument("from_key", help="an existing run")
    p.add_argument("new_key", help="the new run's course-v1 key")
    _add_run_setting_options(p)
    p.add_argument("--pin", metavar="SNAPSHOT",
                   help="pin the new run: 'current' (the latest publish) or a publish uuid (see 'snapshots')")

    p = actions.add_parser("pin", help="show a run's learners one published snapshot, whatever is published later")
    p.add_argument("course_key")
    p.add_argument("snapshot", nargs="?", default="current", help="'current' (default) or a publish uuid")

    p = actions.add_parser("unpin", help="let a run follow the latest publish again")
    p.add_argument("course_key")

    p = actions.add_parser("set", help="change a run's own dates")
    p.add_argument("course_key")
    _add_run_setting_options(p)

    p = actions.add_parser("snapshots", help="the publishes of a run's package, newest first (what 'pin' takes)")
    p.add_argument("course_key")

    for p in actions.choices.values():
        p.add_argument("--json", action="store_true", help="print the result as JSON")


def _run_settings(args) -> dict:
    return {
        name: None if value.lower() == "none" else value
        for name in _RUN_SETTING_OPTIONS
        if (value := getattr(args, name, None)) is not None
    }


def _describe_run(info) -> str:
    pin = f"pinned to {info.pinned_snapshot}" if info.pinned_snapshot else "follows the latest publish"
    settings = ", ".join(f"{name}={value}" for name, value in sorted(info.run_settings.items())) or "no own dates"
    return f"{info.course_key}  (package {info.package_ref}; {pin}; {settings})"


def cmd_runs(args) -> int:
    from lc_runtime import api

    action = args.runs_action
    if action == "list":
        runs = api.list_runs(sharing_with=args.course_key)
        if args.json:
            print(json.dumps([run.as_dict() for run in runs], indent=2))
        else:
            for run in runs:
                print(_describe_run(run))
        return 0
    if action == "snapshots":
        snapshots = api.list_snapshots(args.course_key)
        if args.json:
            print(json.dumps([snapshot.as_dict() for snapshot in snapshots], indent=2))
        else:
            for snapshot in snapshots:
                message = f"  {snapshot.message}" if snapshot.message else ""
                print(f"{snapshot.uuid}  {snapshot.published_at:%Y-%m-%d %H:%M:%S}  "
                      f"{snapshot.entities_published} entities{message}")
        return 0
    if action == "create":
        info = api.create_run(args.from_key, args.new_key, run_settings=_run_settings(args), pin=args.pin)
        verb = "Created"
    elif action == "pin":
        info, verb = api.pin_run(args.course_key, args.snapshot), "Pinned"
    elif action == "unpin":
        info, verb = api.unpin_run(args.course_key), "Unpinned"
    else:  # set
        settings = _run_settings(args)
        if not settings:
            options = ", ".join(f"--{name.replace('_', '-')}" for name in _RUN_SETTING_OPTIONS)
            raise CommandFailed(f"runs set: give at least one of {options}")
        info, verb = api.update_run_settings(args.course_key, settings), "Updated"
    if args.json:
        print(json.dumps(info.as_dict(), indent=2))
    else:
        print(f"{verb} {_describe_run(info)}")
    return 0


def add_variants_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``variants``: which learners see what of one selector."""
    parser.add_argument("usage_key", help="a selector's usage key (split_test, randomize, library_content, ...)")
    parser.add_argument("--json", action="store_true", help="print JSON: every Variant with its learner ids")
    parser.add_argument("--limit", type=int, default=10, help="learner ids to print per Variant (text only)")


def cmd_variants(args) -> int:
    from lc_runtime import api
    from lc_runtime.keys import to_usage_key

    key = to_usage_key(args.usage_key)
    listing = api.learners_by_variant(key.course_key, key)
    if args.json:
        print(json.dumps([
            {"members": [str(m) for m in entry.members], "group_id": entry.group_id, "user_ids": entry.user_ids}
            for entry in listing
        ], indent=2))
        return 0
    if not listing:
        print(f"No learner has a Variant of {key} yet.")
    for entry in listing:
        group = f"group {entry.group_id}: " if entry.group_id is not None else ""
        members = ", ".join(f"{m.block_type}/{m.block_id}" for m in entry.members) or "(nothing)"
        shown = ", ".join(str(user_id) for user_id in entry.user_ids[: args.limit])
        more = f", ... ({len(entry.user_ids) - args.limit} more)" if len(entry.user_ids) > args.limit else ""
        print(f"{group}{members}  <- {len(entry.user_ids)} learner(s): {shown}{more}")
    return 0


def add_roles_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``roles`` (shared with the ``lc_runtime_roles`` management command)."""
    actions = parser.add_subparsers(dest="roles_action", required=True, metavar="ACTION")
    for action, help_text in (("grant", "give a user a role in a course run"),
                              ("revoke", "take a role in a course run from a user")):
        p = actions.add_parser(action, help=help_text)
        p.add_argument("course_key")
        p.add_argument("username", help="an existing user")
        p.add_argument("role", help=ROLE_NAMES)
    p = actions.add_parser("list", help="the roles granted in a course run, with their holders")
    p.add_argument("course_key")
    for p in actions.choices.values():
        p.add_argument("--json", action="store_true", help="print the result as JSON")


def _provider_note() -> str | None:
    """What a reader of the role table should know about the configured provider, if anything."""
    from lc_runtime.conf import DEFAULTS, get_setting

    if get_setting("ROLES") == DEFAULTS["ROLES"]:
        return "Django staff are staff in every course run and are not listed."
    return f"LC_RUNTIME['ROLES'] is {get_setting('ROLES')!r}: that provider decides roles, it may not read this table."


def cmd_roles(args) -> int:
    from lc_runtime import api

    if args.roles_action == "list":
        holders = api.list_roles(args.course_key)
        names = _usernames([user_id for user_ids in holders.values() for user_id in user_ids])
        rows = [{"role": role, "user_id": user_id, "username": names[user_id]}
                for role, user_ids in holders.items() for user_id in user_ids]
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        if not rows:
            print(f"No role is granted in {args.course_key}.")
        for role, user_ids in holders.items():
            print(f"{role:<14} {', '.join(_named(user_id, names[user_id]) for user_id in user_ids)}")
        print(f"({_provider_note()})")
        return 0
    user = _existing_user(args.username)
    if args.roles_action == "grant":
        changed = api.grant_role(args.course_key, user, args.role)
        message = (f"Granted {args.role} in {args.course_key} to {user.username}." if changed
                   else f"{user.username} holds {args.role} in {args.course_key} already: nothing changed.")
    else:
        changed = api.revoke_role(args.course_key, user, args.role)
        message = (f"Revoked {args.role} in {args.course_key} from {user.username}." if changed
                   else f"{user.username} does not hold {args.role} in {args.course_key}: nothing changed.")
    if args.json:
        print(json.dumps({"course_key": args.course_key, "username": user.username, "user_id": user.id,
                          "role": args.role, "changed": changed}, indent=2))
    else:
        print(message)
    return 0


def add_groups_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``groups`` (shared with the ``lc_runtime_groups`` management command)."""
    actions = parser.add_subparsers(dest="groups_action", required=True, metavar="ACTION")
    p = actions.add_parser("assign", help="put a learner in a group of a partition (a cohort, a track, an arm)")
    p.add_argument("course_key")
    p.add_argument("username", help="an existing user")
    p.add_argument("--partition", type=int, required=True, metavar="ID", help="the user partition's id")
    p.add_argument("--group", type=int, required=True, metavar="ID", help="the group's id in that partition")
    p = actions.add_parser("remove", help="take a learner out of its group in a partition")
    p.add_argument("course_key")
    p.add_argument("username", help="an existing user")
    p.add_argument("--partition", type=int, required=True, metavar="ID", help="the user partition's id")
    p = actions.add_parser("list", help="the learners in each group of a course run's partitions")
    p.add_argument("course_key")
    p.add_argument("--partition", type=int, metavar="ID", help="this partition only")
    for p in actions.choices.values():
        p.add_argument("--json", action="store_true", help="print the result as JSON")


def cmd_groups(args) -> int:
    from lc_runtime import api

    if args.groups_action == "list":
        partitions = api.list_groups(args.course_key, args.partition)
        names = _usernames([user_id for groups in partitions.values() for ids in groups.values() for user_id in ids])
        if args.json:
            print(json.dumps([
                {"partition_id": partition_id, "group_id": group_id, "user_id": user_id, "username": names[user_id]}
                for partition_id, groups in partitions.items() for group_id, ids in groups.items() for user_id in ids
            ], indent=2))
            return 0
        if not partitions:
            print(f"No learner is in a group of {args.course_key}" + (
                f" in partition {args.partition}." if args.partition is not None else "."))
        for partition_id, groups in partitions.items():
            print(f"partition {partition_id}:")
            for group_id, ids in groups.items():
                print(f"  group {group_id}: {', '.join(_named(user_id, names[user_id]) for user_id in ids)}")
        return 0
    user = _existing_user(args.username)
    if args.groups_action == "assign":
        previous = api.assign_group(args.course_key, user, args.partition, args.group)
        changed = previous != args.group
        result = {"group_id": args.group, "previous_group_id": previous}
        where = f"group {args.group} of partition {args.partition} in {args.course_key}"
        if not changed:
            message = f"{user.username} is in {where} already: nothing changed."
        else:
            was = f" (was in group {previous})" if previous is not None else ""
            message = f"Put {user.username} in {where}{was}."
    else:
        changed = api.remove_group(args.course_key, user, args.partition)
        result = {}
        where = f"partition {args.partition} in {args.course_key}"
        message = (f"Took {user.username} out of their group of {where}." if changed
                   else f"{user.username} is in no group of {where}: nothing changed.")
    if args.json:
        print(json.dumps({"course_key": args.course_key, "username": user.username, "user_id": user.id,
                          "partition_id": args.partition, **result, "changed": changed}, indent=2))
    else:
        print(message)
    return 0


class _RowProgress(_Progress):
    """A cutover's progress on a terminal: the source rows read so far, by kind (silent elsewhere)."""

    def __init__(self, label: str, *, stream=None) -> None:
        super().__init__(label, stream=stream)
        self.by_kind: dict[str, int] = {}

    def __call__(self, tag: str) -> None:
        self.by_kind[tag] = self.by_kind.get(tag, 0) + 1
        super().__call__(tag)

    def _counts(self) -> str:
        return ", ".join(f"{count} {kind} rows" for kind, count in self.by_kind.items()) or "0 rows"


def add_cutover_state_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``cutover-state`` (for a management command to share)."""
    parser.add_argument("course_key", help="a course run already imported and published in lc-runtime")
    parser.add_argument(
        "--from-jsonl", metavar="PATH",
        help="read edx-platform's rows from this JSON-lines export instead of its tables in the database "
             "(README: the line shapes)",
    )
    parser.add_argument(
        "--copy-state", action="store_true",
        help="also copy each StudentModule row's state into lc-runtime's learner-state store (for runs that do "
             "not read StudentModule itself)",
    )
    parser.add_argument("--batch-size", type=int, default=500, metavar="N",
                        help="source rows written per transaction (default 500)")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")


def _describe_counts(counts) -> str:
    skipped = sum(counts.skipped.values())
    return f"{counts.created} created, {counts.present} already present, {skipped} skipped"


def cmd_cutover_state(args) -> int:
    from lc_runtime import api

    progress = _RowProgress(f"Cutover of {args.course_key}")
    try:
        result = api.cutover_learner_state(
            args.course_key, from_jsonl=args.from_jsonl, copy_state=args.copy_state, batch_size=args.batch_size,
            progress=progress,
        )
    finally:
        progress.done()
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
        return 0
    kinds = [("Variants", result.variants), ("partition groups", result.partition_groups)]
    if result.state is not None:
        kinds.append(("state", result.state))
    print(f"Cutover of {result.course_key} from {result.source}: "
          + "; ".join(f"{label} {_describe_counts(counts)}" for label, counts in kinds))
    for label, counts in kinds:
        for reason, count in sorted(counts.skipped.items()):
            print(f"  skipped {count} {label}: {reason}")
    return 0


def cmd_serve(args) -> int:
    from django.core.management import call_command

    from lc_runtime.conf import get_setting

    print(f"The workbench: http://{args.host}:{args.port}/ (sign in with a user of 'lc-runtime users create'; "
          f"handlers at {get_setting('HANDLER_URL_PREFIX')}/). Ctrl-C stops it.", flush=True)
    call_command("runserver", f"{args.host}:{args.port}", use_reloader=False, use_threading=True)
    return 0


def cmd_users(args) -> int:
    import getpass

    from django.contrib.auth import get_user_model

    users = get_user_model()
    if users.objects.filter(username=args.username).exists():
        raise CommandFailed(f"a user {args.username!r} exists already")
    password = args.password
    if password is None:
        if not sys.stdin.isatty():
            raise CommandFailed("give --password (no terminal to ask for it on)")
        password = getpass.getpass(f"Password for {args.username}: ")
    user = users.objects.create_user(username=args.username, email=args.email, password=password,
                                     is_staff=args.staff)
    print(f"Created {'staff user' if user.is_staff else 'learner'} {user.username}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lc-runtime", description="Courses in Learning Core, served as XBlocks.")
    commands = parser.add_subparsers(dest="command", required=True)

    # The commands manage.py also offers (lc_runtime.management): their arguments live in add_*_arguments.
    shared = (
        ("import", "import an OLX course export (folder, .tar.gz or .zip) and publish it", add_import_arguments,
         cmd_import),
        ("export", "export a course run as OLX (folder, .tar.gz or .zip) that edx-platform imports",
         add_export_arguments, cmd_export),
        ("runs", "list, create, pin and unpin the runs of a course", add_runs_arguments, cmd_runs),
        ("variants", "which learners see which content of one selector", add_variants_arguments, cmd_variants),
        ("roles", "grant, revoke and list course roles (staff, instructor, ...)", add_roles_arguments, cmd_roles),
        ("groups", "put learners in groups of partitions (cohorts, enrollment tracks), list them",
         add_groups_arguments, cmd_groups),
    )
    for name, help_text, add_arguments, function in shared:
        p = commands.add_parser(name, help=help_text)
        add_arguments(p)
        p.set_defaults(func=function)

    p = commands.add_parser(
        "cutover-state",
        help="bring edx-platform's learner data of a course run (item bank selections, experiment groups, "
             "optionally state) into lc-runtime",
    )
    add_cutover_state_arguments(p)
    p.set_defaults(func=cmd_cutover_state)

    p = commands.add_parser("publish", help="publish a course run's draft changes")
    p.add_argument("course_key")
    p.set_defaults(func=cmd_publish)

    p = commands.add_parser("tree", help="print a course run's tree")
    p.add_argument("course_key")
    p.add_argument("--user", help="show the tree as this user sees it")
    seen_as = p.add_mutually_exclusive_group()
    seen_as.add_argument("--staff", action="store_true", help=ACT_AS_STAFF)
    seen_as.add_argument("--draft", action="store_true", help=f"the draft (authoring) tree; {DRAFT_STAFF}")
    p.set_defaults(func=cmd_tree)

    p = commands.add_parser("outline", help="a learner's outline: what they see, what is locked or hidden, and why")
    p.add_argument("course_key")
    p.add_argument("--user", help="the learner (course staff see everything); with --view-as, the staff member")
    p.add_argument("--view-as", metavar="USERNAME", help="show this learner's outline to --user, course staff")
    p.add_argument("--at", help="the outline at this time (ISO 8601 with a time zone; default: now)")
    p.add_argument("--json", action="store_true", help="print the outline as JSON")
    p.set_defaults(func=cmd_outline)

    p = commands.add_parser("render", help="render a block's view as HTML for a user")
    p.add_argument("usage_key")
    p.add_argument("--user", required=True)
    p.add_argument("--view", default="student_view")
    seen_as = p.add_mutually_exclusive_group()
    seen_as.add_argument("--staff", action="store_true", help=ACT_AS_STAFF)
    seen_as.add_argument("--draft", action="store_true", help=f"render the draft; {DRAFT_STAFF}")
    p.add_argument("--text", action="store_true", help="print the readable text instead of HTML")
    p.add_argument("--pretty", action="store_true", help="print the HTML with nested elements on indented lines")
    p.set_defaults(func=cmd_render)

    p = commands.add_parser("handle", help="call a block's handler as a user (POST fields as NAME=VALUE)")
    p.add_argument("usage_key")
    p.add_argument("handler")
    p.add_argument("suffix", nargs="?", default="")
    p.add_argument("--user", required=True)
    p.add_argument("--post", nargs="*", default=[], metavar="NAME=VALUE")
    p.set_defaults(func=cmd_handle)

    p = commands.add_parser("serve", help="the workbench in a browser: course runs, learners' outlines, blocks")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: this machine only)")
    p.set_defaults(func=cmd_serve)

    p = commands.add_parser("users", help="create the workbench's users (learners and staff)")
    users = p.add_subparsers(dest="action", required=True)
    create = users.add_parser("create", help="create a user who can sign in to the workbench")
    create.add_argument("username")
    create.add_argument("--staff", action="store_true", help="Django staff: staff of every course run")
    create.add_argument("--password", help="default: asked for on the terminal")
    create.add_argument("--email", default="")
    p.set_defaults(func=cmd_users)
    return parser


def known_error_message(exc: Exception) -> str | None:
    """The one-line message for an error a command reports without a traceback, or None for a bug."""
    from django.core.exceptions import PermissionDenied
    from xblock.exceptions import NoSuchUsage

    from lc_runtime import api

    known = (
        api.CourseNotFound, api.CourseNotPublished, api.InvalidKey, api.OlxError, api.CourseRunError, api.NotASelector,
        api.UnknownRole, api.UnknownGroup, api.CutoverError,
    )
    if isinstance(exc, NoSuchUsage):
        return f"no such block: {exc}"
    if isinstance(exc, PermissionDenied):
        return f"{exc} (grant a role with 'lc-runtime roles grant')"
    if isinstance(exc, (CommandFailed, *known)):
        return str(exc)
    return None


def run_parsed(args: argparse.Namespace) -> int:
    """Run a parsed command (Django set up); known errors are printed in one line, exit status 2."""
    try:
        return args.func(args)
    except Exception as exc:  # the CLI reports errors in one line, not a traceback
        message = known_error_message(exc)
        if message is None:
            raise
        print(f"lc-runtime: {message}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    problem = check_arguments(args)
    if problem is not None:
        print(f"lc-runtime: {problem}", file=sys.stderr)
        return 2
    try:
        setup_standalone()
    except Exception as error:  # a database that cannot be reached is one line, not a traceback
        from django.db import OperationalError

        if not isinstance(error, OperationalError):
            raise
        print(f"lc-runtime: {_database_problem(error)}", file=sys.stderr)
        return 2
    return run_parsed(args)


if __name__ == "__main__":
    sys.exit(main())
