"""The block that stands in for a block type installed nowhere: it keeps the OLX and says so."""

from __future__ import annotations

from html import escape

from lxml import etree
from web_fragments.fragment import Fragment
from xblock.core import XBlock
from xblock.fields import Scope, String

__all__ = ["ErrorPlaceholderBlock", "PlaceholderBlock", "UnavailableBlock", "unavailable_block_class"]


class PlaceholderBlock(XBlock):
    """
    Loaded for any OLX tag with no installed XBlock class.

    The OLX is kept whole in ``olx`` so that export gives it back unchanged; rendering shows a clear
    notice instead of failing the page.
    """

    olx = String(scope=Scope.content, default="")
    display_name = String(scope=Scope.settings, default=None)

    @classmethod
    def parse_xml(cls, node, runtime, keys):
        block = runtime.construct_xblock_from_class(cls, keys)
        block.olx = etree.tostring(node, encoding="unicode")
        if node.get("display_name"):
            block.display_name = node.get("display_name")
        return block

    def add_xml_to_node(self, node):
        original = etree.fromstring(self.olx, parser=etree.XMLParser(resolve_entities=False, no_network=True))
        node.tag = original.tag
        node.text = original.text
        node.attrib.update(original.attrib)
        for child in original:
            node.append(child)

    def _notice(self) -> Fragment:
        block_type = escape(self.scope_ids.block_type)
        title = escape(self.display_name or "")
        return Fragment(
            f'<div class="lc-placeholder" data-block-type="{block_type}">'
            f"<p><strong>This block cannot be shown here.</strong> "
            f"No XBlock is installed for the block type <code>{block_type}</code>"
            f"{f' (&ldquo;{title}&rdquo;)' if title else ''}. Its content is kept unchanged.</p></div>"
        )

    def student_view(self, context=None) -> Fragment:
        return self._notice()

    def author_view(self, context=None) -> Fragment:
        return self._notice()

    def public_view(self, context=None) -> Fragment:
        return self._notice()


class ErrorPlaceholderBlock(PlaceholderBlock):
    """
    Stands in for a block whose stored OLX its own class could not load.

    Like :class:`PlaceholderBlock` it keeps the OLX whole; the notice says that the block is broken,
    not missing, and (for staff) why.
    """

    error = String(scope=Scope.content, default="")

    def _notice(self) -> Fragment:
        block_type = escape(self.scope_ids.block_type)
        detail = ""
        if self.runtime.user_is_staff and self.error:
            detail = f"<pre class=\"lc-error-detail\">{escape(self.error)}</pre>"
        return Fragment(
            f'<div class="lc-placeholder lc-error" data-block-type="{block_type}">'
            f"<p><strong>This block cannot be shown here.</strong> Its <code>{block_type}</code> content "
            f"could not be loaded; it is kept unchanged for the course team to fix.</p>{detail}</div>"
        )


class UnavailableBlock(PlaceholderBlock):
    """
    Stands in for a block type whose package is installed but cannot load outside edx-platform.

    Its class is made per block type by :func:`unavailable_block_class`, which sets ``package`` (the
    distribution and version that provides the type) and ``missing`` (what it needs that is not here,
    for example an edx-platform module it imports). The OLX is kept whole, as for any placeholder.
    """

    package: str = ""
    missing: str = ""
    needs_edx_platform: bool = True

    @classmethod
    def what_it_lacks(cls) -> str:
        """The sentence's end that says what is missing and who provides it."""
        provider = "which only edx-platform provides" if cls.needs_edx_platform else "which is not installed"
        return f"{cls.missing}, {provider}"

    def _notice(self) -> Fragment:
        block_type = escape(self.scope_ids.block_type)
        return Fragment(
            f'<div class="lc-placeholder lc-unavailable" data-block-type="{block_type}">'
            f"<p><strong>This block cannot be shown here.</strong> The XBlock for <code>{block_type}</code> "
            f"({escape(self.package)}) is installed but needs {escape(self.what_it_lacks())}. "
            f"Its content is kept unchanged.</p></div>"
        )


def unavailable_block_class(
    block_type: str, package: str, missing: str, *, needs_edx_platform: bool = True
) -> type[UnavailableBlock]:
    """A :class:`UnavailableBlock` class for ``block_type``: which ``package`` lacks what (``missing``)."""
    attributes = {"package": package, "missing": missing, "needs_edx_platform": needs_edx_platform,
                  "__module__": __name__}
    return type("UnavailableBlock", (UnavailableBlock,), attributes)
