"""The files of the embedded run store: directory checks, durable result placement, logs, orphans, liveness."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import uuid
from dataclasses import replace
from pathlib import Path

from ..errors import InvalidArgumentError, ResultDecodeError, StoreError, StoreUnavailableError
from ..models import ResultMeta
from ._writes import Placed
from .codecs import CODECS
from .protocols import STREAMS, EncodedResult

INLINE_MAX = 64 * 1024
"""Results up to this many bytes are kept in the database row (durable with the commit); larger ones in files."""

_ENTRIES = {
    "runs.db", "runs.db-wal", "runs.db-shm", "runs.db-journal", "results", "logs", "staging", ".space-reserve",
}  # fmt: skip

Moved = list[tuple[Path, Path | None]]  # (file placed in results/, where it came from if the caller made it)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _process_start(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def owner_is_dead(owner: str | None) -> bool:
    """Whether the engine ``host:pid:process-start`` that owns a run is gone. Unknown owners count as gone;
    engines on other hosts count as alive, since this host cannot see them."""
    if not owner:
        return True
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return True
    host, pid, started = parts[0], int(parts[1]), parts[2]
    if host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    now_started = _process_start(pid)
    return now_started is not None and now_started != started


NETWORK_FILESYSTEMS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "afs", "9p", "fuse.s3fs", "fuse.gcsfuse"}


def filesystem_of(path: Path, mounts: str = "/proc/self/mounts") -> str | None:
    """The type of the filesystem holding ``path`` (Linux mount table), or None when it cannot be told."""
    try:
        with open(mounts, encoding="utf-8", errors="replace") as fh:
            table = [line.split() for line in fh]
    except OSError:
        return None
    best, kind = "", None
    target = str(path)
    for fields in table:
        if len(fields) < 3:
            continue
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[1])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


def _has_entries(directory: Path) -> bool:
    try:
        with os.scandir(directory) as entries:
            return any(True for _ in entries)
    except OSError:
        return False


class StoreFiles:
    """Paths of one store directory. File names are built from integer ids only, never from names.

    runs.db and its -wal / -shm files are only ever opened by SQLite: this class looks at them with stat()."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.db = root / "runs.db"
        self.wal = root / "runs.db-wal"
        self.results = root / "results"
        self.logs = root / "logs"
        self.staging = root / "staging"
        self.reserve = root / ".space-reserve"

    def identity(self) -> tuple[int, int] | None:
        """(device, inode) of runs.db, or None when there is none."""
        try:
            st = os.stat(self.db)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def db_is_empty(self) -> bool:
        try:
            return os.stat(self.db).st_size == 0
        except OSError:
            return False

    def disk_full(self, below: int) -> bool:
        """Whether the store's filesystem has less than ``below`` bytes free."""
        try:
            st = os.statvfs(self.root)
        except OSError:
            return False
        return st.f_bavail * st.f_frsize < below

    def wal_has_frames(self) -> bool:
        try:
            return os.stat(self.wal).st_size > 32  # a WAL header alone is 32 bytes
        except OSError:
            return False

    def _lost_database(self, what: str) -> StoreError:
        return StoreError(
            f"{self.db} {what}, but {self.root} holds the results or logs of earlier runs: the run index was lost "
            "(a failed copy, a full disk, or a deleted file). Nothing was changed. Restore runs.db from a backup, "
            f"or move {self.results.name}/ and {self.logs.name}/ out of {self.root} to start a new, empty store there"
        )

    def refuse_lost_database(self) -> None:
        """Refuse to take an empty runs.db (no schema yet) for a new store when run files are beside it."""
        if _has_entries(self.results) or _has_entries(self.logs):
            raise self._lost_database("is empty")

    def prepare(self, create: bool) -> bool:
        """Check the directory before changing anything; create it if allowed. Returns whether it is read-only."""
        root = self.root
        if root.exists() and not root.is_dir():
            raise StoreUnavailableError(
                f"{root} is a file, not a run store directory; choose a directory (sqlite:///path/to/dir)"
            )
        kind = filesystem_of(root.resolve())
        if kind in NETWORK_FILESYSTEMS:
            raise StoreUnavailableError(
                f"the run store {root} is on a network filesystem ({kind}); SQLite cannot lock a shared database "
                "there safely. Keep the store on a local disk and share it with `dt serve` (an http:// store URL)"
            )
        missing = (
            f"no run store at {root}; check the path (a store is made where a workflow first runs, e.g. "
            f"with DT_RUNS_STORE={root})"
        )
        if not root.exists():
            if not create:
                raise StoreUnavailableError(missing)
            try:
                root.mkdir(parents=True)
            except OSError as exc:
                raise StoreUnavailableError(
                    f"cannot create the run store directory {root}: {exc.strerror}; choose a writable location"
                ) from None
        if not os.access(root, os.R_OK | os.X_OK):
            raise StoreUnavailableError(
                f"cannot read the run store directory {root}: permission denied; ask its owner for read access"
            )
        if not self.db.exists():
            if _has_entries(self.results) or _has_entries(self.logs):
                raise self._lost_database("is missing")
            if not create:
                raise StoreUnavailableError(missing)
            strangers = sorted(p.name for p in root.iterdir() if p.name not in _ENTRIES)
            if strangers:
                raise StoreUnavailableError(
                    f"{root} is not a run store (it has no runs.db) and is not empty ({', '.join(strangers[:5])}); "
                    "choose a new or empty directory for the store"
                )
        if not (os.access(root, os.W_OK) and (not self.db.exists() or os.access(self.db, os.W_OK))):
            if not self.db.exists():
                raise StoreUnavailableError(f"{root} is read-only and holds no run store; choose another directory")
            return True
        return False

    def make_directories(self) -> None:
        """results/, logs/ and staging/ of a writable store (once runs.db is known to be a run store)."""
        for directory in (self.results, self.logs, self.staging):
            directory.mkdir(exist_ok=True)

    # ------------------------------------------------------------ results

    def result_path(self, run_id: int, task_id: int, codec: str) -> Path:
        ext = CODECS[codec].ext if codec in CODECS else ".bin"
        return self.results / str(int(run_id)) / f"{int(task_id)}{ext}"

    def place(self, run_id: int, task_id: int, result: EncodedResult, moved: Moved) -> Placed:
        """Make a result durable before its row is committed: small bytes go inline; otherwise a fsynced
        staging file is renamed into results/<run>/<task>.<ext> and the directory fsynced."""
        if (result.data is None) == (result.path is None):
            raise InvalidArgumentError(f"the result of task {task_id} must have exactly one of data or path")
        origin: Path | None = None
        if result.data is not None:
            data = bytes(result.data)
            meta, digest = result.meta, hashlib.sha256(data).hexdigest()
            if meta.bytes != len(data) or meta.sha256 != digest:
                meta = replace(meta, bytes=len(data), sha256=digest)
            if len(data) <= INLINE_MAX:
                return Placed(meta, data)
            source = self.staging / f"{uuid.uuid4().hex}.part"
            try:
                with open(source, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
            except BaseException:
                source.unlink(missing_ok=True)
                raise
        else:
            source = Path(str(result.path)).resolve()
            staging = self.staging.resolve()
            if source == staging or not source.is_relative_to(staging) or not source.is_file():
                raise InvalidArgumentError(
                    f"result file {result.path} is not a file inside the store's staging directory {staging}"
                )
            size = source.stat().st_size
            if size != result.meta.bytes:
                raise InvalidArgumentError(
                    f"result file {source} has {size} bytes but its meta says {result.meta.bytes}"
                )
            meta = result.meta if result.meta.sha256 else replace(result.meta, sha256=file_sha256(source))
            origin = source
        final = self.result_path(run_id, task_id, result.meta.codec)
        created = not final.parent.exists()
        final.parent.mkdir(exist_ok=True)
        if created:
            fsync_dir(self.results)
        os.replace(source, final)
        moved.append((final, origin))
        fsync_dir(final.parent)
        return Placed(meta, None)

    @staticmethod
    def undo(moved: Moved) -> None:
        """Take back placed files after a failed commit: unreferenced bytes must not stay in results/."""
        for final, origin in moved:
            try:
                if origin is not None:
                    os.replace(final, origin)
                else:
                    final.unlink()
            except OSError:
                pass

    def read_result(self, meta: ResultMeta, owner: int, owner_task: int) -> bytes | None:
        try:
            return self.result_path(owner, owner_task, meta.codec).read_bytes()
        except FileNotFoundError:
            return None

    def result_file(self, meta: ResultMeta, owner: int, owner_task: int, where: str, label: str) -> Path:
        """The file of a result kept in results/, checked to have its recorded size (ResultDecodeError if not)."""
        path = self.result_path(owner, owner_task, meta.codec)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            self.verify(meta, None, where, label)  # raises: missing
            raise
        if size != meta.bytes:
            raise ResultDecodeError(
                f"the result of {where} is truncated/corrupt ({size:,} bytes, expected {meta.bytes:,}); rerun the "
                "task to produce it again"
            )
        return path

    @staticmethod
    def verify(meta: ResultMeta, data: bytes | None, where: str, label: str) -> bytes:
        if data is None:
            raise ResultDecodeError(
                f"the result of {where} is missing from {label} (truncated/corrupt store); rerun the task to "
                "produce it again"
            )
        if len(data) != meta.bytes or (meta.sha256 and hashlib.sha256(data).hexdigest() != meta.sha256):
            raise ResultDecodeError(
                f"the result of {where} is truncated/corrupt ({len(data):,} bytes, expected {meta.bytes:,} with "
                "the recorded sha256); rerun the task to produce it again"
            )
        return data

    def clear_run_files(self, run_id: int) -> None:
        """Remove files left under a run id that was just assigned to a new run (by an earlier store whose
        index was lost): a new run never appends to, or shows, another run's logs or results."""
        for folder in (self.logs / str(int(run_id)), self.results / str(int(run_id))):
            if folder.exists():
                shutil.rmtree(folder, ignore_errors=True)

    def remove_orphans(self, run_id: int, kept: set[str]) -> None:
        """Delete result files of a run that no row points at (left by a crash between rename and commit)."""
        folder = self.results / str(int(run_id))
        if not folder.is_dir():
            return
        for entry in folder.iterdir():
            if entry.name not in kept:
                entry.unlink(missing_ok=True)

    def clean_staging(self, before: float) -> None:
        """Delete staging files older than ``before`` (newer ones may belong to a live engine)."""
        try:
            entries = list(os.scandir(self.staging))
        except OSError:
            return
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < before:
                    os.unlink(entry.path)
            except OSError:
                pass

    # ------------------------------------------------------------ logs

    def log_path(self, run_id: int, task_id: int, stream: str) -> Path:
        if stream not in STREAMS:
            raise InvalidArgumentError(f"unknown log stream {stream!r}; use one of {', '.join(STREAMS)}")
        return self.logs / str(int(run_id)) / f"{int(task_id)}.{stream}"

    def log_sizes(self, run_id: int, task_id: int | None = None) -> dict[str, int]:
        """Sizes of the run's log files by name (``3.stdout``), or of task ``task_id``'s alone."""
        if task_id is not None:
            sizes = {}
            for name in (f"{int(task_id)}.stdout", f"{int(task_id)}.stderr"):
                try:
                    sizes[name] = os.stat(self.logs / str(int(run_id)) / name).st_size
                except OSError:
                    pass
            return sizes
        try:
            with os.scandir(self.logs / str(int(run_id))) as entries:
                return {e.name: e.stat().st_size for e in entries}
        except OSError:
            return {}
