"""Courses written for ``make bench``: units of a chosen size, in courses of a chosen size."""

from __future__ import annotations

from pathlib import Path

PROBLEM = """<problem display_name="Question {n}" max_attempts="3">
  <multiplechoiceresponse>
    <p>Which of these is {n} plus one?</p>
    <choicegroup type="MultipleChoice">
      <choice correct="false">{n}</choice>
      <choice correct="true">{m}</choice>
    </choicegroup>
  </multiplechoiceresponse>
</problem>
"""


def write_course(folder: Path, run: str, *, units: int, components: int) -> Path:
    """
    An OLX course ``course-v1:LcBench+Gen+<run>``: one section, one subsection per 10 units, and
    ``units`` units of ``components`` components each (html and capa problems, alternating).
    The unit measured is the first, ``unit-0``. Returns the folder.
    """
    for kind in ("course", "chapter", "sequential", "vertical", "html", "problem"):
        (folder / kind).mkdir(parents=True, exist_ok=True)
    (folder / "course.xml").write_text(f'<course url_name="{run}" org="LcBench" course="Gen"/>\n')
    sequences = [f"seq-{index}" for index in range((units + 9) // 10)]
    (folder / "course" / f"{run}.xml").write_text(
        '<course display_name="Generated" start="2020-01-01T00:00:00Z">\n  <chapter url_name="chapter-0"/>\n</course>\n'
    )
    (folder / "chapter" / "chapter-0.xml").write_text(
        '<chapter display_name="Section">\n'
        + "".join(f'  <sequential url_name="{name}"/>\n' for name in sequences)
        + "</chapter>\n"
    )
    for index, name in enumerate(sequences):
        members = range(index * 10, min(units, index * 10 + 10))
        (folder / "sequential" / f"{name}.xml").write_text(
            f'<sequential display_name="Subsection {index}">\n'
            + "".join(f'  <vertical url_name="unit-{unit}"/>\n' for unit in members)
            + "</sequential>\n"
        )
    for unit in range(units):
        children = []
        for position in range(components):
            n = unit * components + position
            if position % 2:
                (folder / "problem" / f"problem-{n}.xml").write_text(PROBLEM.format(n=n, m=n + 1))
                children.append(f'  <problem url_name="problem-{n}"/>\n')
            else:
                (folder / "html" / f"text-{n}.xml").write_text(
                    f'<html display_name="Text {n}"><![CDATA[<p>Paragraph {n} of unit {unit}.</p>]]></html>\n'
                )
                children.append(f'  <html url_name="text-{n}"/>\n')
        (folder / "vertical" / f"unit-{unit}.xml").write_text(
            f'<vertical display_name="Unit {unit}">\n' + "".join(children) + "</vertical>\n"
        )
    return folder
