"""
The ``lc-runtime`` command.

    lc-runtime import PATH [--course-key KEY] [--strict] [--no-publish] [--json]
    lc-runtime publish KEY
    lc-runtime tree KEY [--user NAME] [--draft]
    lc-runtime render USAGE_KEY --user NAME [--view student_view] [--draft] [--text | --pretty]
    lc-runtime handle USAGE_KEY HANDLER [SUFFIX] --user NAME [--post NAME=VALUE ...]

It runs with ``lc_runtime.standalone.settings`` unless ``DJANGO_SETTINGS_MODULE`` names others, and
brings that database up to date first. ``--user NAME`` names a Django user, created (as a learner)
if missing, so the demo can show different learners. ``--draft`` treats that user as staff for the one
command, without saving it: the stored user stays as it was.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings

STANDALONE_SETTINGS = "lc_runtime.standalone.settings"
DRAFT_STAFF = "the user counts as staff for this command only (the stored user is not changed)"


def _setup_django() -> None:
    # fs (used by XBlock) still imports pkg_resources; its deprecation notice is noise for CLI users.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", STANDALONE_SETTINGS)
    import django

    django.setup()
    from django.core.management import call_command

    if os.environ["DJANGO_SETTINGS_MODULE"] == STANDALONE_SETTINGS:
        call_command("migrate", verbosity=0, interactive=False)


def _user(name: str | None, *, staff: bool = False):
    if name is None:
        return None
    from django.contrib.auth import get_user_model

    user, created = get_user_model().objects.get_or_create(username=name)
    if staff:
        user.is_staff = True  # for this command only: never saved
    return user


class _Progress:
    """A one-line counter on a terminal; silent when stderr is not one (CI, pipes)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.count = 0
        self.enabled = sys.stderr.isatty() and not os.environ.get("CI")

    def __call__(self, block_type: str) -> None:
        self.count += 1
        if self.enabled and (self.count % 5 == 0):
            print(f"\r{self.label}: {self.count} blocks ({block_type})", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.enabled:
            print(f"\r{self.label}: {self.count} blocks.{' ' * 20}", file=sys.stderr)


def cmd_import(args) -> int:
    from lc_runtime import api

    progress = _Progress(f"Importing {args.path}")
    try:
        result = api.import_olx(
            args.path, course_key=args.course_key, strict=args.strict, publish=not args.no_publish, progress=progress
        )
    except api.OlxError as exc:
        progress.done()
        print(f"lc-runtime: import refused, nothing was written: {exc}", file=sys.stderr)
        return 2
    progress.done()
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
        return 0
    counts = ", ".join(f"{n} {t}" for t, n in sorted(result.blocks_by_type.items()))
    print(f"Imported {result.course_key}: {result.block_count} blocks ({counts})")
    print(f"  versions: {result.created} created, {result.updated} updated, {result.unchanged} unchanged")
    if result.published and result.published.publish_log_id:
        print(f"  published {result.published.entities_published} entities")
    for problem in result.problems:
        print(f"  problem: {problem}")
    return 0


def cmd_publish(args) -> int:
    from lc_runtime import api

    summary = api.publish(args.course_key)
    print(f"Published {summary.entities_published} entities of {args.course_key}")
    return 0


def cmd_tree(args) -> int:
    from lc_runtime import api

    user = _user(args.user, staff=args.draft)
    with api.unit_of_work():
        runtime = api.get_runtime(user, course_key=args.course_key, mode="draft" if args.draft else "published")

        def walk(block, depth: int) -> None:
            name = getattr(block, "display_name", None) or ""
            print(f"{'  ' * depth}{block.scope_ids.block_type:<11} {name}  [{block.scope_ids.usage_id}]")
            for child in block.get_children():
                walk(child, depth + 1)

        walk(runtime.get_block(runtime.root_usage_key), 0)
    return 0


_BLOCK_TAGS = (
    ("address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset", "figure", "footer")
    + ("form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre")
    + ("section", "table", "tr", "ul")
)


def _as_text(html: str) -> str:
    from lxml import html as lxml_html

    document = lxml_html.fromstring(f"<div>{html}</div>")
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
    user = _user(args.user, staff=args.draft)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lc-runtime", description="Courses in Learning Core, served as XBlocks.")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("import", help="import an OLX course export (folder, .tar.gz or .zip) and publish it")
    p.add_argument("path")
    p.add_argument("--course-key", help="course-v1 key to import as (default: the run course.xml names)")
    p.add_argument("--strict", action="store_true", help="refuse the whole import on any problem")
    p.add_argument("--no-publish", action="store_true", help="leave the imported content as a draft")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_import)

    p = commands.add_parser("publish", help="publish a course run's draft changes")
    p.add_argument("course_key")
    p.set_defaults(func=cmd_publish)

    p = commands.add_parser("tree", help="print a course run's tree")
    p.add_argument("course_key")
    p.add_argument("--user", help="show the tree as this user sees it")
    p.add_argument("--draft", action="store_true", help=f"the draft (authoring) tree; {DRAFT_STAFF}")
    p.set_defaults(func=cmd_tree)

    p = commands.add_parser("render", help="render a block's view as HTML for a user")
    p.add_argument("usage_key")
    p.add_argument("--user", required=True)
    p.add_argument("--view", default="student_view")
    p.add_argument("--draft", action="store_true", help=f"render the draft; {DRAFT_STAFF}")
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_django()
    try:
        return args.func(args)
    except Exception as exc:  # noqa: BLE001 - the CLI reports errors in one line, not a traceback
        from xblock.exceptions import NoSuchUsage

        from lc_runtime import api

        known = (api.CourseNotFound, api.CourseNotPublished, api.InvalidKey, api.OlxError)
        if isinstance(exc, NoSuchUsage):
            print(f"lc-runtime: no such block: {exc}", file=sys.stderr)
            return 2
        if isinstance(exc, known):
            print(f"lc-runtime: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
