"""Thin DVC stage entry points: `python -m stages.<name> ...`; dvc.yaml owns every path."""
