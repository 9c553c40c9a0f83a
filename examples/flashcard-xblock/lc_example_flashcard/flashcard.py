"""The flashcard XBlock: authored front and back, each learner's turns and whether they know it."""

from __future__ import annotations

from html import escape

from web_fragments.fragment import Fragment
from xblock.core import XBlock
from xblock.fields import Boolean, Integer, Scope, String


class FlashcardBlock(XBlock):
    """A card with a front and a back; the learner turns it over and says whether they know it."""

    display_name = String(scope=Scope.settings, default="Flashcard")
    front = String(scope=Scope.content, default="")
    back = String(scope=Scope.content, default="")
    turns = Integer(scope=Scope.user_state, default=0, help="How often this learner turned the card over")
    known = Boolean(scope=Scope.user_state, default=False, help="Whether this learner says they know it")
    known_count = Integer(scope=Scope.user_state_summary, default=0, help="How many learners know it")

    def student_view(self, context=None) -> Fragment:
        state = "known" if self.known else "to learn"
        fragment = Fragment(
            f'<div class="lc-flashcard" data-known="{str(self.known).lower()}">'
            f'<p class="front">{escape(self.front)}</p>'
            f'<p class="back" hidden>{escape(self.back)}</p>'
            f'<button type="button" class="turn">Turn over</button> '
            f'<button type="button" class="mark">I know it</button>'
            f'<p class="status" role="status">{state}; turned {self.turns} times</p></div>'
        )
        fragment.add_javascript_url(self.runtime.local_resource_url(self, "static/flashcard.js"))
        fragment.initialize_js("FlashcardBlock")
        return fragment

    def studio_view(self, context=None) -> Fragment:
        fragment = Fragment(
            '<form class="lc-flashcard-editor">'
            f'<p><label>Name <input name="display_name" value="{escape(self.display_name)}"></label></p>'
            f'<p><label>Front <input name="front" value="{escape(self.front)}"></label></p>'
            f'<p><label>Back <input name="back" value="{escape(self.back)}"></label></p>'
            '<button type="submit" class="save">Save</button></form>'
        )
        fragment.add_javascript_url(self.runtime.local_resource_url(self, "static/flashcard.js"))
        fragment.initialize_js("FlashcardEditor")
        return fragment

    @XBlock.json_handler
    def turn(self, data, suffix=""):
        """The learner turned the card over: the back, and how often they have."""
        self.turns += 1
        return {"back": self.back, "turns": self.turns}

    @XBlock.json_handler
    def mark(self, data, suffix=""):
        """The learner says they know the card (``{"known": true}``) or not; counted once per learner."""
        known = bool(data.get("known", True))
        if known != self.known:
            self.known_count += 1 if known else -1
        self.known = known
        self.runtime.publish(self, "completion", {"completion": 1.0 if known else 0.0})
        return {"known": self.known, "known_count": self.known_count}

    @XBlock.json_handler
    def save_card(self, data, suffix=""):
        """The author's edit (``studio_view``): name, front and back; empty text is refused."""
        if not str(data.get("front", "")).strip() or not str(data.get("back", "")).strip():
            return {"saved": False, "error": "a card needs a front and a back"}
        self.display_name = str(data.get("display_name") or self.display_name)
        self.front, self.back = str(data["front"]), str(data["back"])
        return {"saved": True}
