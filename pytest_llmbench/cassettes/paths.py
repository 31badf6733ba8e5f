"""Where a test's cassette lives: cassettes/<provider>/<test module>/<test name>.yaml."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePath

# Brackets keep parametrize ids recognisable; everything else outside this set is replaced
# (':' and '/' in ids are not portable file name characters).
_UNSAFE = re.compile(r"[^A-Za-z0-9_.=+\[\]-]+")
# Well under the 255-byte limit of common file systems, leaving room for the suffix.
MAX_NAME_LENGTH = 120
_HASH_LENGTH = 12


def safe_name(name: str) -> str:
    """`name` as one portable path component: unsafe runs become '-', long names end in a hash.

    The hash is of the original name, so long names that differ only past the cut stay distinct.
    """
    # A leading '.' would hide the file or, as '..', climb out of the cassette directory.
    safe = _UNSAFE.sub("-", name).lstrip(".-") or "-"
    if len(safe) <= MAX_NAME_LENGTH:
        return safe
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_LENGTH]
    return f"{safe[: MAX_NAME_LENGTH - _HASH_LENGTH - 1]}-{digest}"


def cassette_path(root_dir: Path, provider: str, test_module: str, test_name: str) -> Path:
    """The cassette file of one test: `root_dir/<provider>/<module stem>/<test name>.yaml`.

    `test_module` may be a path ("tests/test_chat.py" gives "test_chat"); `test_name` keeps its
    parametrize id. Each part is made filesystem-safe, and long parts are shortened with a hash
    of the original so that distinct names stay distinct.
    """
    module = PurePath(test_module.replace("\\", "/")).stem if test_module else "-"
    return Path(root_dir) / safe_name(provider) / safe_name(module) / f"{safe_name(test_name)}.yaml"
