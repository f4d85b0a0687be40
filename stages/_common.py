"""What every stage shares: argument parsing with --params, logging, clean failures, run logs."""

from __future__ import annotations

import argparse
import logging
import sys

from mixdistill.config import load_config
from mixdistill.errors import EXPECTED
from mixdistill.io import write_json

log = logging.getLogger("mixdistill")


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    return p


def run(main, argv=None) -> int:
    """Run a stage's main(argv); expected failures print one clear line and exit 2."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    try:
        main(argv)
    except EXPECTED as exc:
        log.error("%s", exc)
        return 2
    return 0


def config(args):
    return load_config(args.params)


def write_summary(metrics_path: str, summary: dict, log_path: str | None = None) -> None:
    """The summary's results go to `metrics_path` (a JSON output DVC tracks); its `run` part (timings, throughput, cache
    counters: what differs between two identical runs) goes to `log_path`, a run log that DVC does not track."""
    summary = dict(summary)
    run_info = summary.pop("run", None)
    write_json(metrics_path, summary)
    if log_path and run_info is not None:
        write_json(log_path, run_info)
