"""What anchors the audit chain outside the database: the audit key and the checkpoint file.

The hash chain shows that the records agree with one another, but whoever can write the database can rewrite a
record and recompute every hash after it, and the stored head too. Two things the database does not hold make
such a rewrite show:

- a `mac` on every record, HMAC-SHA256 of its `hash` under the audit key: without the key, no valid mac can be
  made for a rewritten record;
- checkpoints, signed copies of the head (`seq`, `hash`, `at`, `mac`) appended to a JSON-lines file: a chain
  rewritten at or before a checkpoint, or cut short of it, no longer matches it, even for someone who holds
  the key.

The key is the `audit_key` setting or, unset, the contents of `audit_key_file`, which is made on first use.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from agent.audit import canonical
from agent.errors import ConfigError
from agent.settings import Settings

log = logging.getLogger(__name__)

KEY_BYTES = 32
MIN_KEY_CHARS = 16


@dataclass(frozen=True)
class Checkpoint:
    """A signed copy of the chain's head: record `seq` had hash `hash` at time `at`."""

    seq: int
    hash: str
    at: str
    mac: str


class Seal:
    """Signs record hashes and checkpoints with the audit key, and keeps the checkpoint file."""

    def __init__(
        self, key: bytes, checkpoint_file: Path, *, every: int = 50,
        on_checkpoint: Callable[[Checkpoint], None] | None = None,
    ) -> None:
        self._key = key
        self.checkpoint_file = checkpoint_file
        self.every = every
        self.on_checkpoint = on_checkpoint
        """Called with every checkpoint written (the Slack layer can post it where the bot cannot edit it)."""

    def sign(self, digest: str) -> str:
        """A record's mac: HMAC-SHA256 of its hash."""
        return hmac.new(self._key, digest.encode(), hashlib.sha256).hexdigest()

    def signed(self, digest: str, mac: str) -> bool:
        return hmac.compare_digest(self.sign(digest), mac)

    def checkpoint(self, seq: int, digest: str, at: datetime) -> Checkpoint:
        """Append a checkpoint of the head to the file (one write with O_APPEND, so lines written by several
        processes never interleave) and hand it to `on_checkpoint`."""
        stamp = at.isoformat()
        point = Checkpoint(seq, digest, stamp, self._sign_checkpoint(seq, digest, stamp))
        line = json.dumps(asdict(point), sort_keys=True) + "\n"
        self.checkpoint_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.checkpoint_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        if self.on_checkpoint is not None:
            try:
                self.on_checkpoint(point)
            except Exception:  # a failed copy elsewhere must not undo the checkpoint written here
                log.exception("audit checkpoint %d was written but could not be passed on", seq)
        return point

    def checkpoints(self) -> list[tuple[int, Checkpoint | None]]:
        """The file's checkpoints with their line numbers; None for a line that is not a checkpoint signed with
        this key (edited, or written under another key). No file: no checkpoints."""
        try:
            lines = self.checkpoint_file.read_text().splitlines()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ConfigError(f"cannot read the audit checkpoints {self.checkpoint_file}: {exc.strerror}") from exc
        return [(number, self._parse(line)) for number, line in enumerate(lines, start=1)]

    def _parse(self, line: str) -> Checkpoint | None:
        try:
            fields = json.loads(line)
            point = Checkpoint(int(fields["seq"]), str(fields["hash"]), str(fields["at"]), str(fields["mac"]))
        except (ValueError, TypeError, KeyError):
            return None
        expected = self._sign_checkpoint(point.seq, point.hash, point.at)
        return point if hmac.compare_digest(expected, point.mac) else None

    def _sign_checkpoint(self, seq: int, digest: str, at: str) -> str:
        body = canonical({"seq": seq, "hash": digest, "at": at})
        return hmac.new(self._key, body, hashlib.sha256).hexdigest()


def open_seal(settings: Settings) -> Seal:
    return Seal(load_key(settings), settings.audit_checkpoint_path, every=settings.audit_checkpoint_every)


def load_key(settings: Settings) -> bytes:
    """The `audit_key` setting, else the key file (made on first use). A key in the environment or a secret
    manager is the stronger choice: the file sits on the same host as the database."""
    if settings.audit_key is not None and settings.audit_key.get_secret_value():
        value = settings.audit_key.get_secret_value()
        if len(value) < MIN_KEY_CHARS:
            raise ConfigError(f"audit_key is too short: use at least {MIN_KEY_CHARS} random characters")
        return value.encode()
    path = settings.audit_key_path
    try:
        if not path.exists():
            _create_key(path)
        key = path.read_bytes()
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigError(f"cannot read or create the audit key file {path}: {exc.strerror}") from exc
    if not key:
        raise ConfigError(f"the audit key file {path} is empty: delete it to have a new key made, or fill it")
    if mode & 0o077:
        log.warning("the audit key file %s can be read by others than its owner: chmod 600 it", path)
    return key


def _create_key(path: Path) -> None:
    """32 random bytes, readable by the owner only. The key appears whole or not at all (a temporary file linked
    into place), so two processes starting together end up using the same key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, secrets.token_bytes(KEY_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process made it first: theirs is the key
    finally:
        temporary.unlink(missing_ok=True)
