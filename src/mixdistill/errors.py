"""The failures a stage reports to the user as one clear line (stages/_common.py exits 2 on these).

They live in this leaf module, which imports nothing from the project, so that catching them
does not pull every backend into a stage's code dependencies (dvc.yaml lists what a stage runs).
"""

from __future__ import annotations


class ConfigError(ValueError):
    """Invalid params: `problems` lists every `key.path: message`."""

    def __init__(self, problems: list[str], source: str = "params.yaml"):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source} is invalid ({len(problems)} problem(s)):\n{lines}")


class DataError(ValueError):
    """Bad input data: the message names the file (and line) and what is wrong."""


class EmptyTeacherError(ValueError):
    """A mix has nothing to draw from: a teacher kept no response, or the pair shares no problem."""


class UnsupportedTask(ValueError):
    """The task has no solver: a configuration problem."""


class ServerError(RuntimeError):
    """The server stayed unreachable or kept failing: names the URL and the last error."""


# OSError covers missing files, permissions and full disks
EXPECTED = (ConfigError, DataError, EmptyTeacherError, UnsupportedTask, ServerError, OSError)
