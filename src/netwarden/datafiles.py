"""Knowledge shipped as YAML files (platforms, config syntaxes): read one, validate it, name it after its file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from netwarden.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


def load_named(path: Path, model: type[M], what: str) -> M:
    """Read ``path`` into ``model``; its ``name`` must equal the file stem.

    Raises:
        InvalidInput: "<what> file <name>: <what is wrong>".
    """
    try:
        data: Any = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"{what} file {path.name}: cannot read it ({exc})") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"{what} file {path.name}: expected a mapping at the top")
    try:
        spec = model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(f"{what} file {path.name}: {problems}") from exc
    name = getattr(spec, "name", None)
    if name != path.stem:
        raise InvalidInput(f"{what} file {path.name}: name {name!r} differs from the file name")
    return spec
