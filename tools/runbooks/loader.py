"""Reading runbook files: front matter validated by `tools.runbooks.model.Runbook`, errors that name the file and
the field, duplicate ids refused. `README.md` in the runbooks folder documents the format and is not a runbook."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml
from pydantic import ValidationError

from agent.errors import ConfigError
from tools.runbooks.model import REQUIRED_SECTIONS, Runbook, sections

FENCE = "---"
SKIPPED = {"readme.md"}


def runbook_files(folder: Path) -> list[Path]:
    """The runbook files of `folder` (every `*.md` below it except README.md), sorted."""
    if not folder.is_dir():
        raise ConfigError(f"runbooks folder {folder} does not exist: set runbooks_dir to the folder of runbook files")
    return sorted(p for p in folder.rglob("*.md") if p.name.lower() not in SKIPPED)


def parse(text: str, path: str) -> Runbook:
    """One runbook from its text; ConfigError naming `path` and the field when it breaks the format."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != FENCE:
        raise ConfigError(f"runbook {path}: must start with a '---' line opening the YAML front matter")
    try:
        end = next(i for i, line in enumerate(lines[1:], start=1) if line.strip() == FENCE)
    except StopIteration:
        raise ConfigError(f"runbook {path}: the front matter is not closed by a '---' line") from None
    try:
        front = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as exc:
        raise ConfigError(f"runbook {path}: the front matter is not valid YAML: {exc}") from exc
    if not isinstance(front, dict):
        raise ConfigError(f"runbook {path}: the front matter must be a mapping (id, title, domain, ...)")
    for key in ("body", "path", "digest"):
        if key in front:
            raise ConfigError(f"runbook {path}: field {key!r} is not allowed in the front matter")
    body = "\n".join(lines[end + 1:]).strip() + "\n"
    digest = hashlib.sha256(text.encode()).hexdigest()
    try:
        runbook = Runbook(**front, body=body, path=path, digest=digest)
    except ValidationError as exc:
        raise ConfigError(f"runbook {path}: {describe(exc)}") from exc
    missing = [s for s in REQUIRED_SECTIONS if not sections(body).get(s)]
    if missing:
        raise ConfigError(f"runbook {path}: the body lacks the section(s) "
                          f"{', '.join('## ' + s.capitalize() for s in missing)}")
    return runbook


def describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "front matter"
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"field {where}: {message}")
    return "; ".join(problems)


def load_file(path: Path) -> Runbook:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"runbook {path}: cannot be read ({exc})") from exc
    return parse(text, str(path))


def load_runbooks(folder: Path) -> list[Runbook]:
    """Every runbook of `folder`, validated; ConfigError on the first bad file or a duplicate id."""
    books: list[Runbook] = []
    seen: dict[str, str] = {}
    for path in runbook_files(folder):
        book = load_file(path)
        if book.id in seen:
            raise ConfigError(f"runbook {path}: field id: {book.id!r} is already the id of {seen[book.id]}")
        seen[book.id] = str(path)
        books.append(book)
    return books
