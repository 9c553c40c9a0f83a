"""
lc_runtime.keys: course-run and usage keys, and the Learning Core codes that store block ids.

No database: these are pure functions over strings and opaque keys.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opaque_keys.edx.asides import AsideUsageKeyV2
from opaque_keys.edx.keys import CourseKey, UsageKey
from opaque_keys.edx.locator import BlockUsageLocator, CourseLocator

from lc_runtime.keys import (
    COURSE_ROOT_BLOCK_ID,
    ENCODED_PREFIX,
    InvalidKey,
    block_id_from_code,
    code_from_block_id,
    container_code,
    parse_container_code,
    stored_usage_key,
    to_block_or_aside_key,
    to_course_key,
    to_usage_key,
    usage_key_for,
)

# What openedx-core accepts as a component or container code (openedx_django_lib.fields.CODE_REGEX_UNICODE),
# and how long a code may be (``code_field``: max_length=255).
LEARNING_CORE_CODE = re.compile(r"^[\w.-]+\Z")
ASCII_CODE = re.compile(r"^[A-Za-z0-9_.-]+\Z")
MAX_CODE_LENGTH = 255
COURSE = "course-v1:LcX+Keys+2026"
CONTAINER_TAGS = ["course", "chapter", "sequential", "vertical", "split_test", "itembank"]
FEW = settings(max_examples=200, deadline=None)

# Any text but the empty string: letters of every script, punctuation, spaces, control characters.
block_ids = st.text(min_size=1, max_size=40)


# ---- block id <-> code
@pytest.mark.parametrize("block_id", ["intro", "a.b-c_d", "Week_1.Problem-2", "0", "x" * 200])
def test_a_block_id_that_is_a_valid_code_is_its_own_code(block_id):
    assert code_from_block_id(block_id) == block_id
    assert block_id_from_code(block_id) == block_id


@pytest.mark.parametrize(
    "block_id",
    ["a:b", "a~b", "50%", "two words", " leading", "trailing ", "a/b", "i4x://x", "tab\there", "quote'\"", "+@$"],
)
def test_a_block_id_with_characters_codes_do_not_allow_is_hex_encoded_behind_the_prefix(block_id):
    code = code_from_block_id(block_id)
    assert code == ENCODED_PREFIX + block_id.encode("utf-8").hex()
    assert LEARNING_CORE_CODE.match(code)
    assert block_id_from_code(code) == block_id


@pytest.mark.parametrize("block_id", ["été", "問題1", "задача", "ß.ǅ-١٢", "a é"])
def test_unicode_block_ids_round_trip_through_a_valid_code(block_id):
    # Whether unicode letters stay as they are is the store's business (see the writer's tests: on
    # MariaDB openedx-core's check constraint accepts ASCII codes only); that they come back is ours.
    code = code_from_block_id(block_id)
    assert LEARNING_CORE_CODE.match(code)
    assert block_id_from_code(code) == block_id


@pytest.mark.parametrize("block_id", [ENCODED_PREFIX, ENCODED_PREFIX + "41", ENCODED_PREFIX + "zz", "_lcx_problem"])
def test_a_block_id_that_starts_with_the_prefix_is_encoded_so_it_cannot_be_misread(block_id):
    # Kept as it is, "_lcx_41" would read back as "A".
    code = code_from_block_id(block_id)
    assert code != block_id
    assert code.startswith(ENCODED_PREFIX)
    assert block_id_from_code(code) == block_id


def test_a_prefix_in_another_case_is_an_ordinary_id():
    assert code_from_block_id("_LCX_41") == "_LCX_41"
    assert block_id_from_code("_LCX_41") == "_LCX_41"


@FEW
@given(block_ids)
def test_every_block_id_round_trips_through_a_valid_code(block_id):
    code = code_from_block_id(block_id)
    assert LEARNING_CORE_CODE.match(code), code
    assert block_id_from_code(code) == block_id


@FEW
@given(block_ids, block_ids)
def test_different_block_ids_never_share_a_code(first, second):
    if first != second:
        assert code_from_block_id(first) != code_from_block_id(second)


@FEW
@given(st.text(alphabet=st.characters(codec="ascii"), min_size=1, max_size=40))
def test_only_ascii_ids_that_are_not_codes_already_are_encoded(block_id):
    code = code_from_block_id(block_id)
    if ASCII_CODE.match(block_id) and not block_id.startswith(ENCODED_PREFIX):
        assert code == block_id
    else:
        assert code.startswith(ENCODED_PREFIX)


def test_the_empty_block_id_has_no_code():
    with pytest.raises(InvalidKey):
        code_from_block_id("")
    with pytest.raises(InvalidKey):
        container_code("vertical", "")


@pytest.mark.parametrize(
    "make_code",
    [
        lambda: code_from_block_id("x" * (MAX_CODE_LENGTH + 1)),
        lambda: code_from_block_id(":" * 130),  # 130 characters, 265 once hex-encoded
        lambda: container_code("vertical", "x" * (MAX_CODE_LENGTH - len("vertical"))),
    ],
    ids=["long-plain-id", "short-id-long-once-encoded", "long-container-code"],
)
def test_a_block_id_whose_code_would_not_fit_learning_core_is_refused(make_code):
    with pytest.raises(InvalidKey):
        make_code()


def test_the_longest_codes_that_fit_are_accepted():
    assert len(code_from_block_id("x" * MAX_CODE_LENGTH)) == MAX_CODE_LENGTH
    assert len(container_code("vertical", "x" * (MAX_CODE_LENGTH - len("vertical.")))) == MAX_CODE_LENGTH


# ---- container codes
@pytest.mark.parametrize(
    ("tag", "block_id", "code"),
    [
        ("vertical", "unit1", "vertical.unit1"),
        ("chapter", "a.b", "chapter.a.b"),  # a dot in the id: the tag ends at the first one
        ("course", COURSE_ROOT_BLOCK_ID, "course.course"),
        ("sequential", "a:b", "sequential._lcx_613a62"),
        ("vertical", "_lcx_", "vertical._lcx_5f6c63785f"),
    ],
)
def test_container_codes_carry_their_tag_and_parse_back(tag, block_id, code):
    assert container_code(tag, block_id) == code
    assert parse_container_code(code) == (tag, block_id)


@FEW
@given(st.sampled_from(CONTAINER_TAGS), block_ids)
def test_every_container_code_parses_back_and_is_a_valid_code(tag, block_id):
    code = container_code(tag, block_id)
    assert LEARNING_CORE_CODE.match(code), code
    assert parse_container_code(code) == (tag, block_id)


def test_the_same_id_under_two_tags_makes_two_container_codes():
    # Container codes are unique per package across types; url_names only per tag.
    assert container_code("chapter", "week1") != container_code("sequential", "week1")


# ---- course-run keys
def test_a_course_run_key_string_becomes_a_course_locator():
    key = to_course_key(COURSE)
    assert isinstance(key, CourseLocator)
    assert (key.org, key.course, key.run) == ("LcX", "Keys", "2026")
    assert str(key) == COURSE


def test_a_course_key_object_is_accepted_as_it_is():
    key = CourseKey.from_string(COURSE)
    assert to_course_key(key) == key


@pytest.mark.parametrize(
    "text",
    [
        f"{COURSE}+branch@draft-branch",
        f"{COURSE}+version@{'a' * 24}",
        f"{COURSE}+branch@published-branch+version@{'0123456789ab' * 2}",
    ],
)
def test_branch_and_version_are_stripped_from_course_keys(text):
    assert str(to_course_key(text)) == COURSE
    assert str(to_course_key(CourseKey.from_string(text))) == COURSE


def test_old_style_course_keys_are_refused_with_a_message_saying_what_is_supported():
    with pytest.raises(InvalidKey) as refused:
        to_course_key("LcX/Keys/2026")
    assert str(refused.value) == "Only course-v1: course-run keys are supported, not 'LcX/Keys/2026'"


def test_a_slashes_key_is_read_as_the_course_run_it_names():
    # ``slashes:`` is opaque-keys' other spelling of a CourseLocator, not an old-style key.
    assert str(to_course_key("slashes:LcX+Keys+2026")) == COURSE


def test_an_old_style_course_key_object_is_refused_too():
    key = CourseKey.from_string("LcX/Keys/2026")
    assert key.deprecated
    with pytest.raises(InvalidKey, match="Only course-v1: course-run keys are supported"):
        to_course_key(key)


@pytest.mark.parametrize(
    "text", ["", "junk", "course-v1:", "course-v1:LcX+Keys", "i4x://LcX/Keys/html/x", COURSE + " "]
)
def test_text_that_is_no_course_key_is_refused(text):
    with pytest.raises(InvalidKey, match="Not a course key"):
        to_course_key(text)


def test_an_invalid_key_is_a_value_error_and_keeps_the_parsing_error():
    with pytest.raises(ValueError) as refused:
        to_course_key("junk")
    assert isinstance(refused.value, InvalidKey)
    assert refused.value.__cause__ is not None


def test_a_library_key_is_not_a_course_run():
    with pytest.raises(InvalidKey, match="Only course-v1: course-run keys are supported"):
        to_course_key("library-v1:LcX+Lib")


# ---- usage keys
USAGE = "block-v1:LcX+Keys+2026+type@problem+block@p1"


def test_a_usage_key_string_becomes_a_block_usage_locator():
    key = to_usage_key(USAGE)
    assert isinstance(key, BlockUsageLocator)
    assert (key.block_type, key.block_id) == ("problem", "p1")
    assert str(key.course_key) == COURSE
    assert str(key) == USAGE


def test_a_usage_key_object_is_accepted_and_compares_equal():
    key = UsageKey.from_string(USAGE)
    assert to_usage_key(key) == key


@pytest.mark.parametrize(
    "text",
    [
        "block-v1:LcX+Keys+2026+branch@draft-branch+type@problem+block@p1",
        f"block-v1:LcX+Keys+2026+version@{'a' * 24}+type@problem+block@p1",
    ],
)
def test_branch_and_version_are_stripped_from_usage_keys(text):
    key = to_usage_key(text)
    assert str(key) == USAGE
    assert to_usage_key(UsageKey.from_string(text)) == key
    assert key.course_key.branch is None and key.course_key.version_guid is None


@pytest.mark.parametrize("text", ["i4x://LcX/Keys/problem/p1", "i4x://LcX/Keys/problem/p1@draft"])
def test_old_style_usage_keys_are_refused_with_a_message_saying_what_is_supported(text):
    with pytest.raises(InvalidKey) as refused:
        to_usage_key(text)
    assert "Only block-v1: usage keys are supported" in str(refused.value)
    assert repr(text) in str(refused.value)


def test_an_old_style_usage_key_object_is_refused_too():
    key = UsageKey.from_string("i4x://LcX/Keys/problem/p1")
    with pytest.raises(InvalidKey, match="Only block-v1: usage keys are supported"):
        to_usage_key(key)


@pytest.mark.parametrize("text", ["", "junk", COURSE, "LcX/Keys/2026", "block-v1:LcX+Keys+2026+type@problem"])
def test_text_that_is_no_usage_key_is_refused(text):
    with pytest.raises(InvalidKey, match="Not a usage key"):
        to_usage_key(text)


@pytest.mark.parametrize(
    "text", ["location:LcX+Keys+2026+problem+p1", "ccx-block-v1:LcX+Keys+2026+ccx@1+type@problem+block@p1"]
)
def test_usage_keys_of_other_namespaces_are_refused(text):
    with pytest.raises(InvalidKey, match="Only block-v1: usage keys are supported"):
        to_usage_key(text)


def test_ccx_course_keys_are_refused():
    with pytest.raises(InvalidKey, match="Only course-v1: course-run keys are supported"):
        to_course_key("ccx-v1:LcX+Keys+2026+ccx@1")


def test_a_library_block_key_is_refused():
    with pytest.raises(InvalidKey):
        to_usage_key("lib-block-v1:LcX+Lib+type@problem+block@p1")


# ---- usage keys of blocks in a run
def test_usage_key_for_builds_the_key_of_a_block_in_a_run():
    course = to_course_key(COURSE)
    assert str(usage_key_for(course, "problem", "p1")) == USAGE
    key = usage_key_for(course, "html", "a:b~c")
    assert (key.block_type, key.block_id) == ("html", "a:b~c")
    assert to_usage_key(str(key)) == key


@pytest.mark.parametrize("block_id", ["", "two words", "50%", "a/b", "a+b", "a@b", "line\nbreak"])
def test_usage_key_for_refuses_ids_a_usage_key_cannot_hold(block_id):
    with pytest.raises(InvalidKey) as refused:
        usage_key_for(to_course_key(COURSE), "html", block_id)
    assert "html" in str(refused.value) and repr(block_id) in str(refused.value)


@FEW
@given(block_ids)
def test_a_block_id_a_usage_key_accepts_survives_the_key_and_the_code(block_id):
    try:
        key = usage_key_for(to_course_key(COURSE), "html", block_id)
    except InvalidKey:
        return
    parsed = to_usage_key(str(key))
    assert parsed.block_id == block_id
    assert block_id_from_code(code_from_block_id(parsed.block_id)) == block_id


# ---- block or aside keys
ASIDE = f"aside-usage-v2:{USAGE.replace(':', '$:', 1)}::tagging_aside"


def test_a_block_key_is_a_block_key():
    assert to_block_or_aside_key(USAGE) == to_usage_key(USAGE)


def test_an_aside_key_keeps_its_aside_type_and_its_block_key():
    key = to_block_or_aside_key(ASIDE)
    assert isinstance(key, AsideUsageKeyV2)
    assert key.aside_type == "tagging_aside"
    assert key.usage_key == to_usage_key(USAGE)
    assert str(key) == ASIDE


def test_the_block_key_inside_an_aside_key_loses_its_branch():
    with_branch = UsageKey.from_string("block-v1:LcX+Keys+2026+branch@draft-branch+type@problem+block@p1")
    key = to_block_or_aside_key(str(AsideUsageKeyV2(with_branch, "tagging_aside")))
    assert key.usage_key == to_usage_key(USAGE)


@pytest.mark.parametrize("text", ["aside-usage-v2:junk", "aside-usage-v2:"])
def test_a_malformed_aside_key_is_refused(text):
    with pytest.raises(InvalidKey, match="Not an aside key"):
        to_block_or_aside_key(text)


def test_an_aside_on_an_old_style_block_is_refused():
    with pytest.raises(InvalidKey, match="Only block-v1: usage keys are supported"):
        to_block_or_aside_key("aside-usage-v2:i4x$://LcX/Keys/problem/p1::tagging_aside")


@pytest.mark.parametrize("text", ["junk", "i4x://LcX/Keys/problem/p1"])
def test_anything_else_is_read_as_a_block_key(text):
    with pytest.raises(InvalidKey):
        to_block_or_aside_key(text)


@FEW
@given(block_id=block_ids)
def test_a_stored_usage_key_is_the_key_opaque_keys_would_build(block_id):
    course = CourseKey.from_string("course-v1:Org+Course+Run")
    try:
        expected = usage_key_for(course, "problem", block_id)
    except InvalidKey:
        with pytest.raises(InvalidKey):
            stored_usage_key(course, "problem", block_id)
        return
    key = stored_usage_key(course, "problem", block_id)
    assert key == expected and hash(key) == hash(expected) and str(key) == str(expected)
    assert UsageKey.from_string(str(key)) == expected
