"""A grading change reruns everything that grades (problems, every teacher's rejection filtering, every evaluation,
the audit), and where the graded outputs come out byte-identical the chain stops there: no mix, no training."""

from __future__ import annotations

from .conftest import ALL, _changed_stages, ran, sh


def test_a_grading_edit_reruns_the_graders_and_identical_outputs_stop_the_chain(repo):
    grading = repo / "src" / "mixdistill" / "grading.py"
    grading.write_text(grading.read_text() + "\n# an edit that changes no grade\n")
    graders = set(_changed_stages(repo))
    assert {"problems", "gap", "evaluate_base@tiny"} | {f"teach@{r}" for r in ("long", "short", "large", "small")} <= graders
    assert not any(s.startswith(("mix@", "train@", "student@")) for s in graders)
    out = sh(repo, "dvc", "repro")
    assert ran(out) == graders  # mixes and trainings depend on the teachers' outputs, which hashed the same
    assert not {s for s in ALL if s.startswith(("mix@", "train@"))} & ran(out)
    assert "up to date" in sh(repo, "dvc", "status")
