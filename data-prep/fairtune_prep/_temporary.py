"""Temporary siblings of an output (``.NAME.tmp-HOST-PID``) and the removal of those a killed run left.

Every output is written under such a name and renamed when complete. The host and pid in the name
let a later run tell that the writer is gone: a run on this host whose pid is no longer alive.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

KINDS = ("tmp", "old")


def temporary_name(out: Path, kind: str = "tmp") -> Path:
    """``.NAME.KIND-HOST-PID`` next to ``out`` (``kind``: tmp for what is being written, old for
    what is being replaced)."""
    return out.parent / f".{out.name}.{kind}-{socket.gethostname()}-{os.getpid()}"


def remove(path: Path) -> None:
    """Removes a file, a link or a folder tree; a missing path is not an error."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(out: Path) -> list[str]:
    """Removes the temporaries of ``out`` whose writer is gone (this host, pid not alive) and
    returns their names. Names without a host (``.NAME.tmp-PID``, written by older versions)
    count as this host's; another host's temporaries and a live process's are left alone."""
    out = Path(out)
    if not out.parent.is_dir():
        return []
    host = socket.gethostname()
    removed = []
    for path in sorted(out.parent.iterdir()):
        for kind in KINDS:
            prefix = f".{out.name}.{kind}-"
            if not path.name.startswith(prefix):
                continue
            owner_host, _, pid = path.name[len(prefix):].rpartition("-")
            if owner_host in ("", host) and pid.isdigit() and not process_alive(int(pid)):
                remove(path)
                removed.append(path.name)
    return removed
