"""Students: their names, and the name of their own copy of a lab (`<lab>-<student>`).

A student's lab is the exercise's design under another `lab:` name, so that its namespaces (`<lab>-<node>`),
build directory, reports and record are its own. The runtime builds no interface name from the lab's name
(links are named by their ends, eth1...), so what bounds a student name is the design's own limit on `lab:`
(labkit.design.spec.LAB_NAME, 24 characters); the longest lab of topologies/ is 14 characters."""

from __future__ import annotations

import getpass
import os
import re

from labkit.design.spec import LAB_NAME
from labkit.errors import LabkitError

STUDENT_NAME = r"[a-z0-9]{1,8}"
LAB_NAME_MAX = int(re.search(r"\{0,(\d+)\}", LAB_NAME).group(1)) + 1


def student_name(given: str | None) -> str:
    """The student's name: as given (--student), else $LABKIT_STUDENT, else the login name (the user sudo was run
    by, not root); LabkitError with the fix if it is not 1-8 lower-case letters or digits."""
    name = given or os.environ.get("LABKIT_STUDENT") or os.environ.get("SUDO_USER") or getpass.getuser()
    if not re.fullmatch(STUDENT_NAME, name):
        source = "--student" if given else "LABKIT_STUDENT" if os.environ.get("LABKIT_STUDENT") else "your login name"
        raise LabkitError(f"student name {name!r} (from {source}) is not 1-8 lower-case letters or digits; give one "
                          "with --student NAME or LABKIT_STUDENT=NAME, e.g. --student anna")
    return name


def student_lab(lab: str, student: str) -> str:
    """The name of the student's copy of lab `lab`; LabkitError if the two are too long together."""
    name = f"{lab}-{student}"
    if len(name) > LAB_NAME_MAX:
        raise LabkitError(f"lab {lab!r} and student {student!r} make the lab name {name!r}, longer than "
                          f"{LAB_NAME_MAX} characters; use a student name of at most {LAB_NAME_MAX - len(lab) - 1}")
    return name
