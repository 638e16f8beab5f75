"""Errors meant for the user: printed as one clear message, never as a traceback."""


class LabkitError(Exception):
    """A problem the user can fix; the message says what and how."""


class DesignError(LabkitError):
    """A design file has one or more problems; each is a line `file:line: path: reason`."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))
