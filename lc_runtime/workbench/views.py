"""
The workbench's pages: course runs, a learner's outline, a block rendered with the XBlock JavaScript runtime,
a block's ``studio_view``, publishing.

Every page needs a signed-in user. Staff of a run (its roles: docs/settings.md, "Course roles") may also view
it as a learner (``?as=<username>``), switch to the draft (``?mode=draft``), edit blocks and publish; others
see the published course as themselves.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import xstatic.pkg.jquery
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django.views.static import serve
from xblock.exceptions import NoSuchUsage

from lc_runtime import api
from lc_runtime.keys import InvalidKey, to_course_key, to_usage_key

__all__ = ["block_page", "course_list", "course_outline", "publish", "static_file", "studio_page"]


@dataclass(frozen=True)
class _Viewing:
    """Whose course a page shows, and which version: the signed-in user's, or a learner's (staff only)."""

    mode: str
    learner: object | None  # a learner staff view the course as, or None (the user themselves)

    def query(self) -> str:
        parts = [f"mode={self.mode}"] if self.mode == "draft" else []
        if self.learner is not None:
            parts.append(f"as={self.learner.username}")
        return "?" + "&".join(parts) if parts else ""


def _viewing(request: HttpRequest, course_key) -> _Viewing:
    mode = "draft" if request.GET.get("mode") == "draft" else "published"
    learner = None
    username = request.GET.get("as")
    if username and mode == "published":
        learner = get_user_model().objects.filter(username=username).first()
        # A learner's runtime viewed by anyone but staff is refused (403) when it is built; a name that
        # does not exist is refused alike for them, so that they learn nothing of which names exist.
        if learner is None:
            if not api.has_staff_access(api.course_roles(request.user, course_key)):
                raise PermissionDenied("Only course staff may view a course as someone else")
            raise Http404(f"No user {username!r}")
    return _Viewing(mode, learner)


def _runtime(request: HttpRequest, course_key, viewing: _Viewing):
    """The runtime a page renders with; PermissionDenied (403) when the user may not see that."""
    if viewing.mode == "draft":
        return api.get_runtime(request.user, course_key=course_key, mode="draft")
    return api.get_runtime(request.user, course_key=course_key, view_as=viewing.learner)


def _course_key(text: str):
    try:
        return to_course_key(text)
    except InvalidKey as exc:
        raise Http404(str(exc)) from exc


def _usage_key(text: str):
    try:
        return to_usage_key(text)
    except InvalidKey as exc:
        raise Http404(str(exc)) from exc


def _block(runtime, key):
    """The block ``key`` names as the runtime shows it, or a 404 (missing, or not this user's to reach)."""
    try:
        return runtime.get_block(key)
    except NoSuchUsage as exc:
        raise Http404(str(exc)) from exc


@login_required(login_url="workbench:login")
def course_list(request: HttpRequest) -> HttpResponse:
    """Every course run, newest first."""
    runs = sorted(api.list_runs(), key=lambda run: run.created, reverse=True)
    return render(request, "lc_runtime/workbench/courses.html", {"runs": runs})


@login_required(login_url="workbench:login")
def course_outline(request: HttpRequest, course_key: str) -> HttpResponse:
    """A learner's outline: what is open, locked (and why), hidden (and why, for staff), and their Variants."""
    key = _course_key(course_key)
    if not api.run_exists(key):
        raise Http404(f"No course run {key}")
    viewing = _viewing(request, key)  # a name that does not exist: 404 for staff, 403 for anyone else
    # The user's own runtime, or one viewing the course as the learner staff chose: its outline and Variants.
    runtime = api.get_runtime(request.user, course_key=key, view_as=viewing.learner)
    staff = viewing.learner is not None or runtime.user_is_staff  # only staff may choose a learner
    outline = api.outline_for_runtime(runtime)
    variants = []
    for record in runtime.iter_records():
        if record.pool_entity_id is None:
            continue
        usage_key = runtime.usage_key_of(record.ref)
        try:
            variants.append(api.get_variant(runtime, usage_key))
        except NoSuchUsage:  # a selector the learner does not reach: no Variant is drawn for it
            continue
    learners = get_user_model().objects.order_by("username") if staff else []
    return render(request, "lc_runtime/workbench/outline.html", {
        "course_key": str(key), "outline": outline, "variants": variants, "viewing": viewing, "staff": staff,
        "learners": learners, "hidden": sorted((str(k), v) for k, v in outline.hidden.items()),
    })


def _handler_bases(runtime, block) -> dict[str, str]:
    """The handler base URL of the block and of every block below it that the runtime shows, by usage key."""
    bases = {}
    pending = [block]
    while pending:
        current = pending.pop()
        bases[str(current.scope_ids.usage_id)] = runtime.handler_base_url(current)
        if current.has_children:
            pending.extend(current.get_children())
    return bases


def _page(request: HttpRequest, template: str, runtime, block, view: str, context: dict) -> HttpResponse:
    fragment = runtime.render(block, view)
    return render(request, template, {
        **context,
        "block": block,
        "display_name": getattr(block, "display_name", None) or block.scope_ids.usage_id.block_id,
        "fragment_head": fragment.head_html(),
        "fragment_body": fragment.body_html(),
        "fragment_foot": fragment.foot_html(),
        "handler_bases": json.dumps(_handler_bases(runtime, block)).replace("</", "<\\/"),
    })


@login_required(login_url="workbench:login")
def block_page(request: HttpRequest, usage_key: str) -> HttpResponse:
    """A block (a unit, usually) rendered as the learner sees it, its JavaScript running; the draft for staff."""
    key = _usage_key(usage_key)
    viewing = _viewing(request, key.course_key)
    runtime = _runtime(request, key.course_key, viewing)
    block = _block(runtime, key)
    editable = []
    if viewing.mode == "draft":  # the block and its children that have an editor
        candidates = [block, *(block.get_children() if block.has_children else [])]
        editable = [
            (str(child.scope_ids.usage_id), getattr(child, "display_name", None) or child.scope_ids.block_type)
            for child in candidates if getattr(child, "studio_view", None) is not None
        ]
    staff = viewing.mode == "draft" or runtime.user_is_staff
    return _page(request, "lc_runtime/workbench/block.html", runtime, block, "student_view", {
        "course_key": str(key.course_key), "viewing": viewing, "staff": staff, "editable": editable,
    })


@login_required(login_url="workbench:login")
def studio_page(request: HttpRequest, usage_key: str) -> HttpResponse:
    """A block's ``studio_view`` in the draft, for the run's staff: saving writes its next draft version."""
    key = _usage_key(usage_key)
    runtime = api.get_runtime(request.user, course_key=key.course_key, mode="draft")
    block = _block(runtime, key)
    parent = runtime.get_parent(block)
    back = reverse("workbench:block", args=[str(parent.scope_ids.usage_id) if parent else str(key)]) + "?mode=draft"
    return _page(request, "lc_runtime/workbench/studio.html", runtime, block, "studio_view", {
        "course_key": str(key.course_key), "back": back,
    })


@login_required(login_url="workbench:login")
@require_POST
def publish(request: HttpRequest, course_key: str) -> HttpResponse:
    """Publish the run's draft (staff only), then back to where the user was."""
    key = _course_key(course_key)
    api.get_runtime(request.user, course_key=key, mode="draft")  # PermissionDenied unless staff
    api.publish(key, published_by=request.user.id)
    target = request.POST.get("next") or reverse("workbench:outline", args=[str(key)])
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("workbench:outline", args=[str(key)])
    return redirect(target)


STATIC_FOLDERS = {
    "lc_runtime": Path(__file__).parent / "static" / "lc_runtime",
    "jquery": Path(xstatic.pkg.jquery.BASE_DIR),
    # underscore (capa's scripts need it), from npm: ``make install`` puts lc_runtime/workbench/package.json's
    # packages in the virtualenv (LC_RUNTIME_WORKBENCH_JS names another folder).
    "vendor": Path(os.environ.get("LC_RUNTIME_WORKBENCH_JS") or Path(sys.prefix) / "workbench-js") / "node_modules",
}
"""The workbench's own scripts and styles, jQuery from PyPI (XStatic-jQuery), npm's packages: never a CDN."""


def static_file(request: HttpRequest, folder: str, path: str) -> HttpResponse:
    """One of the workbench's static files (the standalone settings have no ``staticfiles`` app to serve them)."""
    root = STATIC_FOLDERS.get(folder)
    if root is None:
        raise Http404(folder)
    return serve(request, path, document_root=str(root))
