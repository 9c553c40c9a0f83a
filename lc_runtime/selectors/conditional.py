"""
``conditional``: content shown once the learner's state of other blocks meets a condition.

The OLX is edx-platform's::

    <conditional sources="i4x://Org/Course/problem/p1;i4x://Org/Course/problem/p2" attempted="True"
                 message="You must complete {link} before you can access this unit.">
      <show sources="i4x://Org/Course/html/elsewhere"/>
      <html url_name="reward"/>
    </conditional>

The condition is one attribute of the element, one of :attr:`ConditionalSelector.conditions`
(``attempted``, ``submitted``, ``correct``, ``poll_answer``, ``voted``), naming an attribute of the
source blocks (``is_attempted``, ``is_submitted``, ``is_correct``, ``poll_answer``, ``voted``; a
method is called) and the value its text must equal for every source. Without one, the condition is
``correct="True"``, as in edx-platform. Open, the conditional shows the blocks its ``<show>`` tags
name (where they stand in the course) and its own children; closed, its ``message``, ``{link}``
standing for a link to each source.

The choice follows the learner's state, so it is not a stored draw: its Variant is computed again in
each unit of work and never stored (``stores_variants`` False, ADR 0022).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from html import escape

from django.db import DatabaseError
from web_fragments.fragment import Fragment
from xblock.core import XBlock
from xblock.exceptions import NoSuchUsage
from xblock.fields import List, Scope, String

from lc_runtime.keys import stored_usage_key
from lc_runtime.selectors.base import PoolMember, SelectionContext, Selector, Variant
from lc_runtime.selectors.split_test import child_of_location

__all__ = [
    "CONDITIONS",
    "DEFAULT_MESSAGE",
    "NO_ACCESS_MESSAGE",
    "ConditionalBlockMixin",
    "ConditionalSelector",
    "condition_met",
    "parse_sources",
]

log = logging.getLogger(__name__)

# OLX attribute -> the attribute of the source blocks it compares, as edx-platform maps them. When an
# element carries several, the last of this order is the condition (edx-platform reads them in this order).
CONDITIONS: dict[str, str] = {
    "poll_answer": "poll_answer",
    "submitted": "is_submitted",
    "attempted": "is_attempted",
    "correct": "is_correct",
    "voted": "voted",
}
DEFAULT_MESSAGE = "You must complete {link} before you can access this unit."
NO_ACCESS_MESSAGE = "You do not have access to this dependency block."


def parse_sources(text: str | None) -> list[str]:
    """The keys of a ``sources`` attribute: separated by ``;``, blanks dropped."""
    return [part.strip() for part in (text or "").split(";") if part.strip()]


def _source_value(source: XBlock, attribute: str):
    value = getattr(source, attribute)
    return value() if callable(value) else value


def condition_met(block: XBlock, sources: Sequence[XBlock | None], conditions=CONDITIONS) -> bool:
    """
    True when every source meets the block's condition, as edx-platform's ConditionalBlock decides.

    ``sources`` are the blocks ``sources_list`` names, as the learner has them (None: missing, or out of
    the learner's reach). Closed without a value to compare, without sources, with a missing source or
    one without the attribute (or whose attribute fails to read); open only when ``str(value)`` equals
    ``conditional_value`` for every source.
    """
    attribute = conditions.get(block.conditional_attr)
    if attribute is None or not block.conditional_value or not sources:
        return False
    for source in sources:
        if source is None:
            return False
        try:
            if not hasattr(source, attribute):
                log.warning("conditional %s: its source %s has no %s", block.scope_ids.usage_id,
                            source.scope_ids.usage_id, attribute)
                return False
            value = _source_value(source, attribute)
        except DatabaseError:
            raise
        except Exception:  # noqa: BLE001 - a source that cannot answer (a broken problem) keeps it closed
            log.warning("conditional %s: reading %s of %s failed", block.scope_ids.usage_id, attribute,
                        source.scope_ids.usage_id, exc_info=True)
            return False
        if str(value) != block.conditional_value:
            return False
    return True


class ConditionalBlockMixin:
    """The conditional's XBlock: edx-platform's fields read from (and written to) its OLX, and its views."""

    # The attributes parse_xml reads into fields of other names (the importer does not warn about them).
    olx_attributes = ("sources", "message", *CONDITIONS)

    @classmethod
    def parse_xml(cls, node, runtime, keys):
        conditions = cls.selector.conditions
        own = {name: value for name, value in node.attrib.items() if name in ("sources", "message", *conditions)}
        rest = copy.copy(node)
        for name in own:
            del rest.attrib[name]
        for child in list(rest):
            rest.remove(child)
        block = super().parse_xml(rest, runtime, keys)
        block.sources_list = parse_sources(own.get("sources"))
        for name in conditions:  # as edx-platform: the last one present wins
            if name in own:
                block.conditional_attr, block.conditional_value = name, own[name]
        # edx-platform: no message attribute, no message (the field's default is Studio's, for new blocks).
        block.conditional_message = own.get("message", "")
        block.show_tag_list = [
            key for child in node if child.tag == "show" for key in parse_sources(child.get("sources"))
        ]
        return block

    def add_xml_to_node(self, node) -> None:
        """The element as edx-platform writes it: ``sources``, the condition, ``message`` and ``<show>``."""
        super().add_xml_to_node(node)
        for name in ("sources_list", "show_tag_list", "conditional_attr", "conditional_value", "conditional_message"):
            node.attrib.pop(name, None)
        node.set("sources", ";".join(self.sources_list))
        node.set(self.conditional_attr, self.conditional_value)
        node.set("message", self.conditional_message or "")
        if self.show_tag_list:
            show = node.makeelement("show", {"sources": ";".join(self.show_tag_list)})
            node.insert(0, show)

    # ---- what the learner sees

    def _sources_as_learner(self) -> list[tuple[str, XBlock | None]]:
        """Each source key with its block as this learner reaches it (None: missing, or not reachable)."""
        found = []
        course_key = self.scope_ids.usage_id.course_key
        for key in self.sources_list:
            block_type, block_id = child_of_location(key)
            block = None
            if block_type is not None:
                try:
                    block = self.runtime.get_block(stored_usage_key(course_key, block_type, block_id))
                except (NoSuchUsage, ValueError):
                    block = None
            found.append((key, block))
        return found

    def is_condition_satisfied(self) -> bool:
        """edx-platform's name: whether the learner's state of the sources opens the conditional."""
        return condition_met(self, [block for _key, block in self._sources_as_learner()], self.selector.conditions)

    def _closed_messages(self, sources: list[tuple[str, XBlock | None]]) -> list[str]:
        if not self.conditional_message:
            return []
        messages = []
        for _key, source in sources:
            if source is None:
                messages.append(escape(NO_ACCESS_MESSAGE))
                continue
            name = getattr(source, "display_name_with_default", None) or source.display_name
            name = name or source.scope_ids.usage_id.block_id
            # The runtime rewrites /jump_to_id/ links to the host's jump-to page (static_urls).
            link = f'<a href="/jump_to_id/{escape(source.scope_ids.usage_id.block_id)}">{escape(str(name))}</a>'
            messages.append(escape(self.conditional_message).replace("{link}", link))
        return messages

    def _conditional_view(self, view_name: str, context: dict | None) -> Fragment:
        sources = self._sources_as_learner()
        # The unit of work's decision (the Variant, computed once per unit) shows the children; the condition is
        # asked again only when it shows none, so an open conditional never shows its closed message.
        children = self.get_children()
        passed = bool(children) or condition_met(self, [block for _key, block in sources], self.selector.conditions)
        depends = ";".join(
            block.scope_ids.usage_id.html_id() if hasattr(block.scope_ids.usage_id, "html_id") else ""
            for _key, block in sources if block is not None
        )
        fragment = Fragment()
        fragment.add_content(
            f'<div class="conditional-wrapper lc-selector" data-selector-type="{escape(self.selector.type_name)}"'
            f' data-passed="{str(passed).lower()}" data-depends="{escape(depends)}">'
        )
        if passed:
            for child in children:
                child_fragment = self.runtime.render_child(child, view_name, context)
                fragment.add_fragment_resources(child_fragment)
                fragment.add_content(child_fragment.content)
        else:
            for message in self._closed_messages(sources):
                fragment.add_content(f'<p class="conditional-message">{message}</p>')
        fragment.add_content("</div>")
        return fragment

    def student_view(self, context: dict | None = None) -> Fragment:
        """Open: the blocks its ``<show>`` tags name and its children; closed: its message, once per source."""
        return self._conditional_view("student_view", context)

    def public_view(self, context: dict | None = None) -> Fragment:
        return self._conditional_view("public_view", context)

    def author_view(self, context: dict | None = None) -> Fragment:
        """As in Studio: the condition, then every child (whatever the author's own state)."""
        fragment = Fragment()
        sources = ", ".join(f"<code>{escape(key)}</code>" for key in self.sources_list) or "<em>none</em>"
        attribute = self.selector.conditions.get(self.conditional_attr, self.conditional_attr)
        fragment.add_content(
            f'<div class="lc-selector lc-conditional" data-selector-type="{escape(self.selector.type_name)}">'
            f'<p class="lc-conditional-condition">Shown when <code>{escape(attribute)}</code> is '
            f'<code>{escape(self.conditional_value or "")}</code> for every source: {sources}</p>'
        )
        if not self.sources_list:
            fragment.add_content('<p class="lc-conditional-warning">This component has no source components '
                                 'configured yet: learners never see its content.</p>')
        if self.conditional_message:
            fragment.add_content(f'<p class="lc-conditional-message">Otherwise: {escape(self.conditional_message)}</p>')
        if self.show_tag_list:
            shown = ", ".join(f"<code>{escape(key)}</code>" for key in self.show_tag_list)
            fragment.add_content(f'<p class="lc-conditional-show">Also shows: {shown}</p>')
        for child in self.get_children():
            child_fragment = self.runtime.render_child(child, "author_view", context)
            label = self.selector.member_label(self, self.runtime.pool_member_of(child))
            fragment.add_content(f'<div class="lc-selector-member"><p class="lc-selector-label">{escape(label)}</p>')
            fragment.add_fragment_resources(child_fragment)
            fragment.add_content(child_fragment.content)
            fragment.add_content("</div>")
        fragment.add_content("</div>")
        return fragment

    def get_icon_class(self) -> str:
        """As edx-platform: ``video`` or ``problem`` when a child is one, else ``other``."""
        classes = {getattr(child, "get_icon_class", lambda: "other")() for child in self.get_children()}
        return next((name for name in ("video", "problem") if name in classes), "other")


class ConditionalSelector(Selector):
    """
    Shows its children (and the blocks its ``<show>`` tags name) while the learner's state of its
    sources meets its condition; nothing otherwise. Computed on each request, never stored.
    """

    type_name = "conditional"
    olx_tags = ("conditional",)
    default_display_name = "Conditional"
    stores_variants = False
    rules_child_tags = ("show",)
    block_mixins = (ConditionalBlockMixin,)
    conditions = CONDITIONS
    fields = {
        "sources_list": List(scope=Scope.content, default=[]),
        "show_tag_list": List(scope=Scope.content, default=[]),
        "conditional_attr": String(scope=Scope.content, default="correct"),
        "conditional_value": String(scope=Scope.content, default="True"),
        "conditional_message": String(scope=Scope.content, default=DEFAULT_MESSAGE),
    }

    def sources(self, block: XBlock) -> Sequence[str]:
        return list(block.sources_list)

    def get_or_create_variant_for_user(
        self, user_id: int | None, *, block: XBlock, pool: Sequence[PoolMember], previous: Variant | None,
        context: SelectionContext,
    ) -> Variant:
        sources = [context.block_of(key) for key in block.sources_list]
        if not condition_met(block, sources, self.conditions):
            return Variant(())
        members: list[PoolMember] = []
        around = _self_and_ancestors(block) if block.show_tag_list else set()
        for key in block.show_tag_list:
            member = context.member_of(key)
            if member is not None and member.ref not in around and member not in members:
                members.append(member)
        members.extend(member for member in pool if member not in members)
        return Variant(tuple(members))

    def member_label(self, block: XBlock, member: PoolMember) -> str:
        return "shown when the condition is met"


def _self_and_ancestors(block: XBlock) -> set[tuple[str, str]]:
    """The conditional and the blocks above it: a ``<show>`` naming one of them would show itself."""
    refs = set()
    current = block
    while current is not None:
        refs.add((current.scope_ids.block_type, current.scope_ids.usage_id.block_id))
        current = current.get_parent()
    return refs
