"""
The web host ``make soak`` runs in a real server process: lc-runtime's URLs, plus two views that stand
in for the LMS's courseware page and Studio's save-and-publish.

It trusts a ``learner`` query parameter instead of a login, which is fine for a load run on loopback and
nothing else: its settings (:mod:`benchmarks.soak_settings`) are never a host's.
"""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from lc_runtime import api
from lc_runtime.keys import to_usage_key


@require_GET
def unit_view(request: HttpRequest) -> JsonResponse:
    """A learner's view of one unit, and the third-party handler URL of its counter (what a page would hold)."""
    learner = get_user_model().objects.get(username=request.GET["learner"])
    unit_key = to_usage_key(request.GET["unit"])
    with api.unit_of_work():
        runtime = api.get_runtime(learner, course_key=unit_key.course_key)
        unit = runtime.get_block(unit_key)
        fragment = runtime.render(unit, "student_view")
        counter = next(child for child in unit.get_children() if child.scope_ids.block_type == "lc_test_counter")
        click_url = runtime.handler_url(counter, "click", thirdparty=True)
    return JsonResponse({"html_bytes": len(fragment.content), "click_url": click_url})


@csrf_exempt
@require_POST
def author_view(request: HttpRequest) -> JsonResponse:
    """An author retitles a block in the draft and publishes the course: Studio's edit, then its publish."""
    body = json.loads(request.body)
    author = get_user_model().objects.get(username=body["author"])
    block_key = to_usage_key(body["block"])
    with api.unit_of_work():
        runtime = api.get_runtime(author, course_key=block_key.course_key, mode="draft")
        block = runtime.get_block(block_key)
        block.display_name = body["title"]
        block.save()
    summary = api.publish(block_key.course_key, published_by=author.id)
    return JsonResponse({"title": body["title"], "published": summary.entities_published})


urlpatterns = [
    path("lc-runtime/", include("lc_runtime.web.urls")),
    path("edxval/", include("edxval.urls")),
    path("soak/unit/", unit_view),
    path("soak/author/", author_view),
]

