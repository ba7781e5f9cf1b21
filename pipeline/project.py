"""Where the project's own files are: the module file, the eval config, the bundled data."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULE_FILE = ROOT / "module_file.py"
EVAL_CONFIG_FILE = ROOT / "eval_config.py"
DATA_DIR = ROOT / "data"
DEFAULT_DATA = DATA_DIR / "census"
DEPLOY_DIR = ROOT / "deploy"
