"""What every stage shares: argument parsing with --params, logging, and clean failures."""

from __future__ import annotations

import argparse
import logging
import sys

from mixdistill.backends.openai import ServerError
from mixdistill.config import ConfigError, load_config
from mixdistill.io import DataError
from mixdistill.mix import EmptyTeacherError
from mixdistill.solvers import UnsupportedTask

log = logging.getLogger("mixdistill")
# failures with a message for the user (OSError covers missing files, permissions and full disks)
EXPECTED = (ConfigError, DataError, EmptyTeacherError, UnsupportedTask, ServerError, OSError)


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
