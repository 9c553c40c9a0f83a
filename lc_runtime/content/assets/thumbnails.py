"""
Thumbnails of a course's images, as Studio's file list shows them: made from the stored bytes when asked,
kept in Django's cache by the image's hash (an image never changes under its hash).
"""

from __future__ import annotations

import io
import os

from django.core.cache import cache

from lc_runtime.content.assets.files import StoredAsset

__all__ = ["THUMBNAIL_SIZE", "THUMBNAIL_SUFFIX", "image_of_thumbnail", "thumbnail_bytes", "thumbnail_name"]

THUMBNAIL_SIZE = (128, 128)
"""edx-platform's thumbnail size: within 128 x 128, proportions kept."""
THUMBNAIL_SUFFIX = ".jpg"
_CACHE_VERSION = 1


def thumbnail_name(name: str) -> str:
    """
    The thumbnail's name of the image named ``name``, as edx-platform names it: ``.jpg`` after the name,
    whose own extension becomes part of it (``orbit.png`` -> ``orbit-png.jpg``; ``photo.jpg`` stays).
    """
    root, extension = os.path.splitext(name)
    if extension.lower() == THUMBNAIL_SUFFIX:
        return root + THUMBNAIL_SUFFIX
    return root + extension.replace(".", "-") + THUMBNAIL_SUFFIX


def image_of_thumbnail(name: str) -> list[str]:
    """The names of the images a thumbnail name may stand for, likeliest first (none if it names no thumbnail)."""
    if not name.endswith(THUMBNAIL_SUFFIX):
        return []
    root = name.removesuffix(THUMBNAIL_SUFFIX)
    stem, dash, extension = root.rpartition("-")
    candidates = [f"{stem}.{extension}"] if dash and stem and extension else []
    return [*candidates, name]


def thumbnail_bytes(asset: StoredAsset) -> bytes | None:
    """A JPEG thumbnail of an image file, or None for a file that is not an image Pillow reads."""
    if not asset.content_type.startswith("image/"):
        return None
    key = f"lc_runtime.thumbnail:{asset.hash_digest}:{THUMBNAIL_SIZE[0]}x{THUMBNAIL_SIZE[1]}"
    made = cache.get(key, version=_CACHE_VERSION)
    if made is None:
        made = _make(asset.read())
        cache.set(key, made, None, version=_CACHE_VERSION)
    return made or None


def _make(data: bytes) -> bytes:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail(THUMBNAIL_SIZE)
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=85)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return b""  # cached as "not an image Pillow reads"
    return out.getvalue()
