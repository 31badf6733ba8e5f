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
_SHORT_HASH_LENGTH = 8  # for a short name changed by sanitizing: tells a/b from a:b


def safe_name(name: str) -> str:
    """`name` as one portable path component: unsafe runs become '-'; a name that had to be
    changed, or is too long, ends in a short hash of the original.

    ':' alone becomes '-' without a hash: it separates provider and model in the plugin's test
    ids (`test_x[openai:gpt-4o]` is `test_x[openai-gpt-4o].yaml`, as cassettes have always been
    named). So `a/b`, `a:b` and `a b` get distinct files, and long names that differ only past
    the cut stay distinct.
    """
    readable = name.replace(":", "-")
    # A leading '.' would hide the file or, as '..', climb out of the cassette directory.
    safe = _UNSAFE.sub("-", readable).lstrip(".-") or "-"
    if safe == readable and len(safe) <= MAX_NAME_LENGTH:
        return safe
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
    if len(safe) <= MAX_NAME_LENGTH - _SHORT_HASH_LENGTH - 1:
        return f"{safe}-{digest[:_SHORT_HASH_LENGTH]}"
    return f"{safe[: MAX_NAME_LENGTH - _HASH_LENGTH - 1]}-{digest[:_HASH_LENGTH]}"


def cassette_path(root_dir: Path, provider: str, test_module: str, test_name: str) -> Path:
    """The cassette file of one test: `root_dir/<provider>/<module stem>/<test name>.yaml`.

    `test_module` may be a path ("tests/test_chat.py" gives "test_chat"); `test_name` keeps its
    parametrize id. Each part is made filesystem-safe, and long parts are shortened with a hash
    of the original so that distinct names stay distinct.
    """
    module = PurePath(test_module.replace("\\", "/")).stem if test_module else "-"
    return Path(root_dir) / safe_name(provider) / safe_name(module) / f"{safe_name(test_name)}.yaml"
