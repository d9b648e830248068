"""Logging for workflow jobs: one log file per job, timestamps, the package's messages."""

import logging


def to_file(path, level=logging.INFO):
    """Send this process's log records to ``path``, replacing earlier handlers."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    return logging.getLogger("mgbarcode")
