"""Views: XBlock handlers (signed URLs) and blocks' packaged resources."""

from __future__ import annotations

import mimetypes

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseForbidden, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt
from opaque_keys.edx.asides import AsideUsageKeyV2
from xblock.core import XBlockAside
from xblock.django.request import django_to_webob_request, webob_to_django_response
from xblock.exceptions import DisallowedFileError, NoSuchHandlerError, NoSuchUsage, ProcessingError
from xblock.plugin import PluginMissingError

from lc_runtime import api
from lc_runtime.blocks.registry import load_block_class
from lc_runtime.conf import get_setting
from lc_runtime.fielddata.errors import FieldWriteRefused
from lc_runtime.keys import to_block_or_aside_key
from lc_runtime.runtime.handler_urls import ACCESS_KINDS, ANONYMOUS, token_is_valid

__all__ = ["handler_view", "local_resource_view"]


def _url_user_id(user_part: str) -> int | None:
    if user_part == ANONYMOUS:
        return None
    try:
        return int(user_part)
    except ValueError as exc:
        raise Http404("Malformed handler URL") from exc


def _acting_user(request, mode: str, access: str, user_id: int | None, course_key):
    """
    The user a valid handler URL acts as, or PermissionDenied.

    A ``session`` URL needs its own user's session; a ``thirdparty`` URL needs no session, but is
    still refused to a different logged-in user. Draft URLs also need that user to be an author of
    the block's course run (its staff or instructor, by ``LC_RUNTIME["ROLES"]``).
    """
    logged_in = getattr(request, "user", None)
    logged_in_id = logged_in.id if logged_in is not None and logged_in.is_authenticated else None
    if logged_in_id is not None and logged_in_id != user_id:
        raise PermissionDenied("This handler URL belongs to another user")
    if access == "session" and logged_in_id != user_id:
        raise PermissionDenied("This handler URL works only in its user's session")
    if mode == "draft" and user_id is None:
        raise PermissionDenied("Draft content is for staff only")
    if mode == "draft" and access != "session":
        # The runtime never makes one (ADR 0006), but a token signed with the secret would otherwise be a
        # session-less door into drafts.
        raise PermissionDenied("Draft handler URLs work only in a staff session")
    if user_id is None:
        # A visitor's URL: they get what the outline processors leave an anonymous learner, never the
        # everything-visible runtime of a system task (user None).
        return AnonymousUser()
    user = logged_in if logged_in_id == user_id else get_user_model().objects.filter(id=user_id).first()
    if user is None or not user.is_active:
        raise PermissionDenied("Unknown or inactive user")
    if mode == "draft" and not api.has_author_access(api.course_roles(user, course_key)):
        raise PermissionDenied(f"Draft content of {course_key} is for its staff and instructors only")
    return user


def _csrf_rejection(request):
    """Django's CSRF check of ``request`` (a 403 response if it fails, else None), whatever the middleware."""
    check = CsrfViewMiddleware(lambda _request: None)
    check.process_request(request)
    return check.process_view(request, None, (), {})


@csrf_exempt  # checked below for session URLs only
def handler_view(
    request, mode: str, access: str, usage_key: str, user: str, token: str, handler: str, suffix: str = ""
):
    """
    Run an XBlock handler for the user and block its signed URL names (see ``handler_urls``).

    ``session`` URLs act on the strength of the session cookie, so they need Django's CSRF token (the
    ``X-CSRFToken`` header edx-platform's scripts send), as edx-platform's handler views do; ``thirdparty``
    URLs carry no session and are authenticated by their token alone, so they are exempt.
    """
    if mode not in ("published", "draft") or access not in ACCESS_KINDS:
        raise Http404("Malformed handler URL")
    if access == "session":
        rejection = _csrf_rejection(request)
        if rejection is not None:
            return rejection
    try:
        key = to_block_or_aside_key(usage_key)
    except api.InvalidKey as exc:
        raise Http404(str(exc)) from exc
    block_key = key.usage_key if isinstance(key, AsideUsageKeyV2) else key
    user_id = _url_user_id(user)
    if not token_is_valid(token, mode, str(key), user_id, access=access, handler_name=handler, suffix=suffix):
        return HttpResponseForbidden("Invalid or expired handler URL")
    handler_user = _acting_user(request, mode, access, user_id, block_key.course_key)
    try:
        runtime = api.get_runtime(handler_user, course_key=block_key.course_key, mode=mode)
        block = runtime.get_aside(key) if isinstance(key, AsideUsageKeyV2) else runtime.get_block(key)
    except (api.CourseNotFound, api.CourseNotPublished, NoSuchUsage) as exc:
        raise Http404(str(exc)) from exc
    webob_request = django_to_webob_request(request)
    try:
        response = runtime.handle(block, handler, webob_request, suffix)
    except NoSuchHandlerError as exc:
        raise Http404(f"No handler {handler!r}") from exc
    except FieldWriteRefused as exc:
        # A learner's handler writing authored content (or children): refused, not a server error. Nothing
        # it did stays although the answer is no 5xx: the exception left runtime.handle's unit of work,
        # which dooms the request's unit (or was the outermost one and rolled back).
        return HttpResponseForbidden(str(exc))
    except ProcessingError as exc:
        # A block refusing the request as it stands (capa: a closed problem, a state that changed since
        # the page was loaded): its message for the learner, as edx-platform's handler view answers it,
        # not a server error. As above, nothing the handler did stays.
        return JsonResponse({"success": str(exc.args[0]) if exc.args else str(exc)})
    return webob_to_django_response(response)


def local_resource_view(request, block_type: str, uri: str):
    """Serve a file from a block class's ``public/`` folder."""
    try:
        if block_type in get_setting("ASIDE_TYPES"):
            block_class = XBlockAside.load_class(block_type)
        else:
            block_class = load_block_class(block_type)
        handle = block_class.open_local_resource(uri)
    except (DisallowedFileError, PluginMissingError, FileNotFoundError, IsADirectoryError) as exc:
        raise Http404(f"No resource {uri!r} for {block_type}") from exc
    content_type = mimetypes.guess_type(uri)[0] or "application/octet-stream"
    return FileResponse(handle, content_type=content_type)
