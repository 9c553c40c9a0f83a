"""
A course's static files as Learning Core media (ADR 0010).

The one door into :mod:`lc_runtime.content.assets`.
"""

from lc_runtime.content.assets.files import (
    MAX_ASSET_BYTES,
    UPLOAD_NAMESPACE,
    UPLOAD_TYPE,
    AssetError,
    AssetTooLarge,
    AssetWriter,
    InvalidAssetPath,
    InvalidContentType,
    StoredAsset,
    asset_name,
    find_asset,
    find_course_asset,
    guess_content_type,
    list_assets,
    normalize_content_type,
    publish_assets,
    validate_asset_path,
)
from lc_runtime.content.assets.thumbnails import (
    THUMBNAIL_SIZE,
    image_of_thumbnail,
    thumbnail_bytes,
    thumbnail_name,
)

__all__ = [
    "MAX_ASSET_BYTES",
    "THUMBNAIL_SIZE",
    "UPLOAD_NAMESPACE",
    "UPLOAD_TYPE",
    "AssetError",
    "AssetTooLarge",
    "AssetWriter",
    "InvalidAssetPath",
    "InvalidContentType",
    "StoredAsset",
    "asset_name",
    "find_asset",
    "find_course_asset",
    "guess_content_type",
    "image_of_thumbnail",
    "list_assets",
    "normalize_content_type",
    "publish_assets",
    "thumbnail_bytes",
    "thumbnail_name",
    "validate_asset_path",
]
