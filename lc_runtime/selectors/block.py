"""
The XBlock that stands for a selector in a course: the proxy component's class.

Each plugin gets its own subclass of :class:`SelectorBlock` (made by :func:`block_class_for`), whose
fields are the plugin's configuration. The block never decides its own children: the runtime
answers ``get_children()`` with the learner's Variant (or, for authors, the whole pool).
"""

from __future__ import annotations

from functools import cache
from html import escape

from web_fragments.fragment import Fragment
from webob import Response
from xblock.core import XBlock
from xblock.fields import Dict, Scope, String

from lc_runtime.selectors.base import Selector
from lc_runtime.selectors.registry import selector_tags

__all__ = ["SelectorBlock", "block_class_for", "selector_block_classes"]

_AUTHORED_SCOPES = (Scope.settings, Scope.content)


class SelectorBlock(XBlock):
    """Base of every selector's XBlock: configuration from OLX attributes, children from the runtime."""

    has_children = True
    selector: Selector  # set on each plugin's subclass
    # Child elements of the selector's element that belong to its rules (Selector.rules_child_tags).
    rules_child_tags: tuple[str, ...] = ()
    # Attributes its parse_xml reads that are not field names (the importer does not warn about them).
    olx_attributes: tuple[str, ...] = ()

    display_name = String(scope=Scope.settings, default=None)
    # Attributes of the selector's element that no field reads, kept so that export gives them back.
    xml_attributes = Dict(scope=Scope.settings, default={})

    @classmethod
    def parse_xml(cls, node, runtime, keys):
        block = runtime.construct_xblock_from_class(cls, keys)
        extra = {}
        for name, value in node.attrib.items():
            declared = cls.fields.get(name)
            if name in ("url_name", "xblock-family") or declared is None or name == "xml_attributes":
                if name not in ("url_name", "xblock-family"):
                    extra[name] = value
                continue
            setattr(block, name, declared.from_string(value) if not isinstance(declared, String) else value)
        if extra:
            block.xml_attributes = extra
        return block

    def add_xml_to_node(self, node) -> None:
        """Write the element back: each authored field set on this block (not inherited ones), then the extras."""
        node.tag = self.scope_ids.block_type
        for name, declared in self.fields.items():
            if name in ("xml_attributes", "children", "parent") or declared.scope not in _AUTHORED_SCOPES:
                continue
            if declared.is_set_on(self):
                value = getattr(self, name)
                node.set(name, value if isinstance(value, str) else declared.to_string(value))
        for name, value in self.xml_attributes.items():
            node.set(name, value)

    def has_dynamic_children(self) -> bool:
        """edx-platform's marker for blocks whose children depend on the learner (read by grading)."""
        return True

    def get_child_blocks(self) -> list:
        """edx-platform's name for the children this learner sees: the Variant."""
        return self.get_children()

    def _render_members(self, view_name: str, context: dict | None, *, labelled: bool) -> Fragment:
        fragment = Fragment()
        fragment.add_content(
            f'<div class="lc-selector" data-selector-type="{escape(self.selector.type_name)}">'
        )
        for child in self.get_children():
            child_fragment = self.runtime.render_child(child, view_name, context)
            if labelled:
                label = self.selector.member_label(self, self.runtime.pool_member_of(child))
                fragment.add_content(f'<div class="lc-selector-member"><p class="lc-selector-label">'
                                     f'{escape(label or child.scope_ids.block_id)}</p>')
            fragment.add_fragment_resources(child_fragment)
            fragment.add_content(child_fragment.content)
            if labelled:
                fragment.add_content("</div>")
        fragment.add_content("</div>")
        return fragment

    def student_view(self, context: dict | None = None) -> Fragment:
        """The learner's Variant, rendered in its order."""
        return self._render_members("student_view", context, labelled=False)

    def public_view(self, context: dict | None = None) -> Fragment:
        return self._render_members("public_view", context, labelled=False)

    def author_view(self, context: dict | None = None) -> Fragment:
        """The whole pool, each member labelled (by group, for split tests)."""
        return self._render_members("author_view", context, labelled=True)

    @XBlock.handler
    def reset_selected_children(self, request, suffix=""):
        """Draw again, where the selector allows learners to (``allow_resetting_children``); re-render."""
        if not self.selector.can_reset(self):
            return Response("Resetting is not allowed for this block.", status=400, content_type="text/plain")
        for child in self.get_children():
            if hasattr(child, "reset_problem"):
                child.reset_problem(None)
                child.save()
        self.runtime.reset_variant(self)
        return Response(self.runtime.render(self, "student_view").content, content_type="text/html")


@cache
def block_class_for(selector_class: type[Selector]) -> type[SelectorBlock]:
    """The XBlock class of one selector plugin: :class:`SelectorBlock` with the plugin's fields."""
    attributes = {
        "selector": selector_class(),
        "__module__": selector_class.__module__,
        "__doc__": f"The {selector_class.type_name} selector as an XBlock.",
        # What the OLX importer asks of the class: child elements it keeps in the rules (not the pool).
        "rules_child_tags": tuple(selector_class.rules_child_tags),
        **{name: declared for name, declared in selector_class.fields.items()},
    }
    bases = (*selector_class.block_mixins, SelectorBlock)
    return type(f"{selector_class.__name__}Block", bases, attributes)


def selector_block_classes() -> dict[str, type[SelectorBlock]]:
    """OLX tag -> XBlock class, for every installed selector (what the importer needs to know of them)."""
    return {tag: block_class_for(selector_class) for tag, selector_class in selector_tags().items()}
