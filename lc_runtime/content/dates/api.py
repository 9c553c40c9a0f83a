"""
Dates per learner, kept by edx-when: the one door into :mod:`lc_runtime.content.dates`.

On publish, lc-runtime writes the dates a course run's content sets to edx-when
(:func:`write_content_dates`, as edx-platform's ``extract_dates`` does); a learner's runtime reads the
learner's own dates from it (:func:`learner_dates`): the run's absolute dates, a self-paced run's
relative dates counted from the learner's start (:func:`learner_schedule`), and the learner's
personal dates over them (:func:`set_personal_date`). Inside edx-platform edx-when resolves a
learner's dates itself; elsewhere lc-runtime applies edx-when's rules to the same rows, with
schedules from ``LC_RUNTIME["LEARNER_SCHEDULE"]`` (by default our own table).
"""

from lc_runtime.content.dates.course_dates import (
    DATE_FIELDS,
    DateError,
    InvalidPersonalDate,
    LearnerDates,
    NoContentDate,
    dates_version,
    learner_dates,
    set_personal_date,
    write_content_dates,
)
from lc_runtime.content.dates.schedules import (
    clear_learner_schedule,
    edx_when_resolves_dates,
    learner_schedule,
    set_learner_schedule,
    stored_learner_schedule,
)

__all__ = [
    "DATE_FIELDS",
    "DateError",
    "InvalidPersonalDate",
    "LearnerDates",
    "NoContentDate",
    "clear_learner_schedule",
    "dates_version",
    "edx_when_resolves_dates",
    "learner_dates",
    "learner_schedule",
    "set_learner_schedule",
    "set_personal_date",
    "stored_learner_schedule",
    "write_content_dates",
]
