"""A learner's dates for every block of an outline: inherited down the course, their own over the authored ones."""

from datetime import UTC, datetime

from opaque_keys.edx.keys import CourseKey

from lc_runtime.outlines.api import BlockAccessData, CourseOutlineData, block_dates

COURSE = CourseKey.from_string("course-v1:LcX+Dates+2026")
ROOT = COURSE.make_usage_key("course", "course")


def at(day: int) -> datetime:
    return datetime(2026, 3, day, tzinfo=UTC)


def key(block_type: str, block_id: str):
    return COURSE.make_usage_key(block_type, block_id)


COURSE_START = at(1)


def outline(*blocks: BlockAccessData, start: datetime | None = COURSE_START) -> CourseOutlineData:
    return CourseOutlineData(
        course_key=COURSE, title="Dates", published_at=None, published_version="1", days_early_for_beta=None,
        sections=(), self_paced=False, start=start, blocks={block.usage_key: block for block in blocks},
    )


SECTION = BlockAccessData(key("chapter", "s"), "chapter", "S", ROOT, start=at(10))
SEQUENCE = BlockAccessData(key("sequential", "q"), "sequential", "Q", SECTION.usage_key, start=at(5), due=at(20))
UNIT = BlockAccessData(key("vertical", "u"), "vertical", "U", SEQUENCE.usage_key)
PROBLEM = BlockAccessData(key("problem", "p"), "problem", "P", UNIT.usage_key, start=at(15))
OTHER_SECTION = BlockAccessData(key("chapter", "t"), "chapter", "T", ROOT)


def test_a_block_without_dates_inherits_its_parents():
    dates = block_dates(outline(SECTION, SEQUENCE, UNIT, PROBLEM, OTHER_SECTION), {})

    assert dates.start(UNIT.usage_key) == at(5)  # its subsection's own start, earlier than the section's
    assert dates.due(UNIT.usage_key) == at(20)
    assert dates.start(OTHER_SECTION.usage_key) == at(1)  # the course's start
    assert dates.due(OTHER_SECTION.usage_key) is None


def test_a_block_opens_at_the_latest_start_on_its_way_down():
    dates = block_dates(outline(SECTION, SEQUENCE, UNIT, PROBLEM, OTHER_SECTION), {})

    assert dates.opens_at(SEQUENCE.usage_key) == at(10)  # not before its section
    assert dates.opens_at(UNIT.usage_key) == at(10)
    assert dates.opens_at(PROBLEM.usage_key) == at(15)
    assert dates.opens_at(OTHER_SECTION.usage_key) == at(1)


def test_the_learners_own_dates_win_and_reach_the_blocks_below():
    learner = {(SEQUENCE.usage_key, "due"): at(25), (SECTION.usage_key, "start"): at(2), (ROOT, "start"): at(1)}
    dates = block_dates(outline(SECTION, SEQUENCE, UNIT, PROBLEM), learner)

    assert dates.due(SEQUENCE.usage_key) == dates.due(UNIT.usage_key) == at(25)
    assert dates.opens_at(UNIT.usage_key) == at(5)


def test_the_course_start_from_edx_when_outranks_the_outline_and_a_block_not_in_it_gets_it():
    dates = block_dates(outline(OTHER_SECTION, start=None), {(ROOT, "start"): at(3)})

    assert dates.opens_at(OTHER_SECTION.usage_key) == at(3)
    assert dates.opens_at(key("vertical", "unknown")) == at(3)
    assert dates.start(key("vertical", "unknown")) is None
