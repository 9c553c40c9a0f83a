"""A media storage with URLs of its own, as django-storages' S3 has: the asset views redirect to them."""

from __future__ import annotations

from django.core.files.storage import FileSystemStorage


class StorageWithOwnUrls(FileSystemStorage):
    """Keeps files on disk, and names an absolute URL for each, as a bucket would (signed, say)."""

    def url(self, name: str) -> str:
        return f"https://files.example.org/{name}?signature=test"


def only_ada_is_enrolled(user, course_key) -> bool:
    """An ``LC_RUNTIME["ENROLLMENT"]`` for the tests: one enrolled learner."""
    return user.username == "ada"
