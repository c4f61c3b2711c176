"""The configuration repository: one git repository in the data dir, one file per device (and part).

Every write is one commit with who and why; a write that cannot finish leaves the repository as it
was (files restored, nothing staged), so a half-written configuration never lands in git. Readers
(history, show, diff) take revisions as git names them (a hash, a prefix of one, ``HEAD~1``).
Concurrent writers on one machine are serialised by a lock file.

    repo = ConfigRepo(data_dir / "configs")
    rev = repo.commit({"r1.cfg": text}, author="alice", message="scheduled backup")
    repo.history("r1.cfg")       # [Revision(rev=..., at=..., author="alice", message=...)]
    repo.diff("r1.cfg")          # the last change of r1.cfg, unified
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import re
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from netwarden.errors import InvalidInput, NetwardenError, NotFound

log = logging.getLogger(__name__)

GIT_TIMEOUT = 120.0
_REV = re.compile(r"^[0-9A-Za-z_.~^/@{}-]{1,100}$")
_FILE = re.compile(r"^[A-Za-z0-9_%][A-Za-z0-9_.@+%-]{0,250}$")
_COMMITTER = ("netwarden", "netwarden@localhost")


class RepoError(NetwardenError):
    """The configuration repository could not be read or written (git failed)."""

    code = "config-repo"


@dataclass(frozen=True)
class Revision:
    """One commit that touched a file."""

    rev: str
    at: dt.datetime
    author: str
    message: str


def check_file_name(name: str) -> str:
    """A repository file name: one path component, no leading dot or dash (device names are)."""
    if not _FILE.fullmatch(name):
        raise InvalidInput(f"not a usable file name in the config repository: {name!r}")
    return name


def safe_name(device: str) -> str:
    """A device name as a file name: characters a path cannot hold (``/``, ``:``...) as ``%XX``."""
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "_.@+-") else f"%{ord(ch):02X}" for ch in device)


def check_rev(rev: str) -> str:
    if not _REV.fullmatch(rev) or rev.startswith("-"):
        raise InvalidInput(f"not a revision: {rev!r} (use a commit hash from 'config history')")
    return rev


class ConfigRepo:
    """A git working tree holding the latest configurations, with their history."""

    def __init__(self, path: Path, remote: str | None = None) -> None:
        self.path = path
        self.remote = remote
        self.push_error = ""  # why the last push after a commit failed ("" when it worked)

    # ------------------------------------------------------------ plumbing

    def _git(self, *args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "GIT_COMMITTER_NAME": _COMMITTER[0],
            "GIT_COMMITTER_EMAIL": _COMMITTER[1],
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
        }
        argv = ["git", "-C", str(self.path), "-c", "core.quotepath=off", "-c", "commit.gpgsign=false", *args]
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, env=env, timeout=GIT_TIMEOUT, input=input, check=False
            )
        except FileNotFoundError as exc:
            raise RepoError("git is not installed; install it (apt-get install git)") from exc
        except subprocess.TimeoutExpired as exc:
            raise RepoError(f"git {args[0]} took longer than {GIT_TIMEOUT:.0f} s") from exc
        if check and done.returncode != 0:
            err = (done.stderr or done.stdout).strip().splitlines()
            raise RepoError(f"git {args[0]} failed: {err[-1] if err else f'exit {done.returncode}'}")
        return done

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.ensure()
        with open(self.path / ".git" / "netwarden.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def ensure(self) -> None:
        """Create the repository when it does not exist yet."""
        if (self.path / ".git").is_dir():
            return
        self.path.mkdir(parents=True, exist_ok=True)
        self._git("init", "-q", "-b", "main")
        (self.path / "README.md").write_text(
            "# Device configurations\n\nWritten by netwarden: one file per device and part, one commit per run.\n"
            "Secrets and volatile lines are masked as the platform files say.\n"
        )
        self._git("add", "README.md")
        self._git("commit", "-q", "--author", f"{_COMMITTER[0]} <{_COMMITTER[1]}>", "-m", "Start the repository")

    def exists(self) -> bool:
        return (self.path / ".git").is_dir()

    # ------------------------------------------------------------ writing

    def commit(self, files: Mapping[str, str], *, author: str, message: str) -> str | None:
        """Write ``files`` (name -> text) and commit them; the new revision, or None when nothing changed.

        All or nothing: when writing or committing fails, the files are put back as they were.
        """
        if not files:
            return None
        for name in files:
            check_file_name(name)
        with self._locked():
            before = {name: (self.path / name).read_bytes() if (self.path / name).exists() else None for name in files}
            try:
                for name, text in files.items():
                    _write_atomically(self.path / name, text)
                self._git("add", "--", *files)
                staged = self._git("diff", "--cached", "--quiet", check=False)
                if staged.returncode == 0:
                    return None
                who = _author(author)
                self._git("commit", "-q", "--no-verify", "--author", who, "-F", "-", input=message)
                rev = self._git("rev-parse", "HEAD").stdout.strip()
            except BaseException:
                self._restore(before)
                raise
        if self.remote:
            try:
                self.push()
                self.push_error = ""
            except RepoError as exc:  # the commit stands; the next one pushes both
                self.push_error = str(exc)
        return rev

    def _restore(self, before: Mapping[str, bytes | None]) -> None:
        self._git("reset", "-q", "--", *before, check=False)
        for name, data in before.items():
            path = self.path / name
            if data is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(data)

    def push(self) -> None:
        """Push to the configured remote; a failure is logged and raised (the local commit stays)."""
        if not self.remote:
            return
        done = self._git("push", "-q", self.remote, "HEAD:refs/heads/main", check=False)
        if done.returncode != 0:
            err = (done.stderr or done.stdout).strip().splitlines()
            log.warning("config repository push failed remote=%s", _redact(self.remote))
            raise RepoError(f"push to the config remote failed: {err[-1] if err else 'unknown error'}")

    # ------------------------------------------------------------ reading

    def files(self) -> list[str]:
        if not self.exists():
            return []
        out = self._git("ls-files").stdout.splitlines()
        return [f for f in out if f != "README.md"]

    def history(self, name: str, limit: int = 100) -> list[Revision]:
        """Commits that changed ``name``, newest first."""
        check_file_name(name)
        if not self.exists():
            return []
        fmt = "%H%x1f%aI%x1f%an%x1f%s%x1e"
        out = self._git("log", f"-n{max(1, limit)}", f"--format={fmt}", "--", name).stdout
        revs = []
        for record in out.split("\x1e"):
            parts = record.strip("\n").split("\x1f")
            if len(parts) == 4:
                revs.append(Revision(parts[0], dt.datetime.fromisoformat(parts[1]), parts[2], parts[3]))
        return revs

    def resolve(self, rev: str) -> str:
        check_rev(rev)
        if not self.exists():
            raise NotFound("no configuration is stored yet: run 'netwarden config backup' first")
        done = self._git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
        if done.returncode != 0:
            raise NotFound(f"no revision {rev!r} in the config repository")
        return done.stdout.strip()

    def show(self, name: str, rev: str = "HEAD") -> str:
        """The text of ``name`` at ``rev``."""
        check_file_name(name)
        if not self.exists():
            raise NotFound(f"no configuration stored for {name}")
        full = self.resolve(rev)
        done = self._git("show", f"{full}:{name}", check=False)
        if done.returncode != 0:
            raise NotFound(f"{name} is not in revision {rev}")
        return done.stdout

    def diff(self, name: str, old: str | None = None, new: str | None = None, context: int = 3) -> str:
        """Unified diff of ``name`` between two revisions (default: its last change)."""
        check_file_name(name)
        if old is None:
            revs = self.history(name, limit=2)
            if not revs:
                raise NotFound(f"no configuration stored for {name}")
            if len(revs) == 1:
                return ""
            old, new = revs[1].rev, revs[0].rev
        a = self.resolve(old)
        b = self.resolve(new or "HEAD")
        return self._git("diff", f"-U{context}", "--no-color", a, b, "--", name).stdout


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _author(name: str) -> str:
    clean = re.sub(r"[<>\n\r]", "", name).strip() or "netwarden"
    return f"{clean} <{re.sub(r'[^A-Za-z0-9_.-]', '', clean) or 'netwarden'}@netwarden>"


def _redact(url: str) -> str:
    return re.sub(r"//[^@/]*@", "//***@", url)
