"""
What edx-platform's code reads off every block it gets from the modulestore, added to every block of
a LearningCoreRuntime: ``location``, ``category``, ``url_name``, ``course_id`` and ``xmodule_runtime``
(edx-platform's XModuleMixin has them). A block class that defines one of these names keeps its own.
"""

from __future__ import annotations

from xblock.core import XBlockMixin

__all__ = ["ModulestoreShapeMixin"]


class ModulestoreShapeMixin(XBlockMixin):
    """The modulestore's names for a block's key, type and course."""

    @property
    def location(self):
        """The block's usage key."""
        return self.scope_ids.usage_id

    @property
    def category(self) -> str:
        """The block's type (its OLX tag)."""
        return self.scope_ids.block_type

    @property
    def url_name(self) -> str:
        """The block's id within its course (its OLX ``url_name``)."""
        return self.scope_ids.usage_id.block_id

    @property
    def course_id(self):
        """The key of the course run the block is in."""
        return self.scope_ids.usage_id.course_key

    @property
    def xmodule_runtime(self):
        """
        The runtime the block is bound to, under the name third-party blocks (ORA2, recommender) look for
        to tell that they run for a learner in a course rather than in a bare XBlock workbench.
        """
        return self.runtime
