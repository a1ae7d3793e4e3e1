"""Where the conformance tests find the real upstream code (never committed here).

    INSTRACK_UPSTREAM=DIR pytest -m upstream

DIR holds one checkout per repository, named as on GitHub: DIR/dvlab-research/LISA,
DIR/wjn922/ReferFormer, DIR/bo-miao/SgMg, DIR/lxa9867/R2VOS,
DIR/wudongming97/OnlineRefer, DIR/cilinyan/VISA, DIR/henghuiding/MeViS. Without the variable the tests skip (CI has no
checkouts); with it, a missing checkout is a failure that names it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ENV = "INSTRACK_UPSTREAM"

#: repository -> a file that proves the folder is a checkout of it
REPOSITORIES = {
    "dvlab-research/LISA": "model/LISA.py",
    "wjn922/ReferFormer": "inference_ytvos.py",
    "bo-miao/SgMg": "inference_ytvos.py",
    "lxa9867/R2VOS": "inference_ytvos.py",
    "wudongming97/OnlineRefer": "inference_ytvos_online.py",
    "cilinyan/VISA": "tools/eval_revos.py",
    "henghuiding/MeViS": "tools/eval_mevis.py",
}


def checkout(repository: str) -> Path:
    """The checkout of `repository` ("owner/name") under $INSTRACK_UPSTREAM."""
    root = os.environ.get(ENV)
    if not root:
        pytest.skip(f"{ENV} is not set (conformance tests against {repository} are opt-in)")
    folder = Path(root).expanduser() / repository
    marker = REPOSITORIES[repository]
    if not (folder / marker).is_file():
        pytest.fail(f"{ENV}={root}: no checkout of {repository} at {folder} (expected {folder / marker}); "
                    f"see docs/baselines.md, 'Conformance tests'", pytrace=False)
    return folder
