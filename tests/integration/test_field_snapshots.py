"""The committed field snapshots the params schema checks against (scripts/field_snapshots.py)."""

import subprocess
import sys
from pathlib import Path


def test_the_sft_field_snapshot_matches_the_installed_trl():
    """train.sft is checked against sft_fields.json; a TRL upgrade must come with a fresh snapshot."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "field_snapshots.py"
    p = subprocess.run([sys.executable, str(script), "--check", "trl"], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "matches the installed trl" in p.stdout
