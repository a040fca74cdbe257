"""Process trees on Linux and other POSIX systems: the descendants of a process, ending them, and reaping them.

A worker process is the subreaper of the processes its task starts, so orphans of a shell pipeline or a double fork
stay in its tree and can be ended after the task (``end_strays``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

__all__ = ["become_subreaper", "descendants", "end_processes", "end_strays"]


def _proc_children(pid: int) -> list[int] | None:
    """Direct children of ``pid`` from /proc/PID/task/*/children (Linux), or None where that file is missing."""
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return [] if os.path.isdir("/proc/self/task") else None
    except OSError:
        return None
    out: list[int] = []
    for tid in threads:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                out.extend(int(x) for x in fh.read().split())
        except FileNotFoundError:
            if not os.path.exists(f"/proc/{pid}/task/{tid}"):
                continue  # the thread ended meanwhile
            return None  # a kernel without CONFIG_PROC_CHILDREN
        except (OSError, ValueError):
            continue
    return out


def _process_table() -> list[tuple[int, int, int]]:
    """(pid, ppid, pgid) of every process: from /proc/*/stat, else from ``ps``."""
    rows: list[tuple[int, int, int]] = []
    if os.path.isdir("/proc/self"):
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
                rows.append((int(name), int(fields[1]), int(fields[2])))
            except (OSError, IndexError, ValueError):
                continue
        return rows
    try:
        ps = subprocess.Popen(["ps", "-A", "-o", "pid=,ppid=,pgid="], stdout=subprocess.PIPE, text=True)
        text, _ = ps.communicate(timeout=10)
    except (OSError, subprocess.SubprocessError):
        return rows
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and all(p.isdigit() for p in parts) and int(parts[0]) != ps.pid:
            rows.append((int(parts[0]), int(parts[1]), int(parts[2])))
    return rows


def descendants(root: int, group: bool = False) -> set[int]:
    """Every live descendant of process ``root`` (and, with ``group``, every member of its process group), not
    ``root`` itself."""
    found: set[int] = set()
    stack = [root]
    table: list[tuple[int, int, int]] | None = None
    while stack:
        pid = stack.pop()
        children = _proc_children(pid)
        if children is None:
            table = _process_table()
            break
        for child in children:
            if child not in found:
                found.add(child)
                stack.append(child)
    if table is not None:
        kids: dict[int, list[int]] = {}
        for pid, ppid, pgid in table:
            kids.setdefault(ppid, []).append(pid)
            if group and pgid == root:
                found.add(pid)
        stack = [root, *found]
        while stack:
            for child in kids.get(stack.pop(), ()):
                if child not in found:
                    found.add(child)
                    stack.append(child)
    found.discard(root)
    return found


def end_processes(root: int, group: bool = False) -> None:
    """SIGKILL process ``root``'s process group (when ``group``: ``root`` leads it) and all its descendants."""
    strays = descendants(root)
    if group:
        try:
            os.killpg(root, signal.SIGKILL)
        except OSError:
            pass
    for pid in strays:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def end_strays() -> None:
    """In a worker: end every process the finished task left behind (children, grandchildren, pipelines)."""
    me = os.getpid()
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:  # no child at all, so no descendant (orphans are re-parented to the worker)
        return
    for _ in range(100):
        strays = descendants(me, group=True)
        strays.difference_update(_reap())
        if not strays:
            return
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        _reap()
        time.sleep(0.005)


def _reap() -> set[int]:
    """Collect exited children (the worker is their parent or subreaper) so none stays a zombie."""
    reaped: set[int] = set()
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except (ChildProcessError, OSError):
            return reaped
        if pid == 0:
            return reaped
        reaped.add(pid)


def become_subreaper() -> None:
    """Linux: orphans of the worker's descendants are re-parented to the worker (not to init), so they stay in
    its tree and can be ended after the task."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass
