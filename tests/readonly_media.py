"""Real read-only media and immutable files for tests: a read-only bind mount, and `chattr +i`.

`unshare -rm` gives the child a user and mount namespace of its own, in which the folder is bound
onto itself and remounted read-only; the kernel then refuses every write below it with EROFS, to
root as well (chmod never stops root, which the tests run as). Nothing outside the child sees the
mount. Where user namespaces are not allowed, `available()` is False and the tests that need it skip;
tests/test_read_only.py simulates the same errors at the OS boundary so that CI checks the logic anyway.
`immutable` sets the immutable attribute (chattr +i: no write, rename or delete, even by root) where
the file system and the process's capabilities allow it, and always clears it again.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from .robust_util import REPO, child_env

_MOUNT = 'set -e; d="$1"; shift; mount --bind "$d" "$d"; mount -o remount,bind,ro "$d"; exec "$@"'


def run(folder: Path, argv: Sequence[str | Path], timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `argv` in a child that sees `folder` (and everything below it) read-only."""
    return subprocess.run(["unshare", "-rm", "sh", "-c", _MOUNT, "sh", str(folder), *map(str, argv)],
                          env=child_env(**env), capture_output=True, text=True, check=False, timeout=timeout, cwd=REPO)


@functools.cache
def available() -> bool:
    """Whether read-only bind mounts work here, proven by a write that the mount refuses."""
    if shutil.which("unshare") is None:
        return False
    with tempfile.TemporaryDirectory() as scratch:
        probe = run(Path(scratch), ["sh", "-c", f'touch "{scratch}/probe" 2>&1; test ! -e "{scratch}/probe"'],
                    timeout=30)
        return probe.returncode == 0 and "Read-only file system" in probe.stdout


def listing(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` with its bytes: equal listings mean nothing was created, changed or deleted."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _chattr(flag: str, paths: Sequence[Path]) -> bool:
    if not paths or shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True, check=False).returncode == 0


@functools.cache
def immutable_available() -> bool:
    """Whether chattr +i works here (ext4 and the like, with CAP_LINUX_IMMUTABLE)."""
    with tempfile.TemporaryDirectory() as scratch:
        probe = Path(scratch) / "probe"
        probe.write_text("x")
        try:
            return _chattr("+i", [probe])
        finally:
            _chattr("-i", [probe])


@contextlib.contextmanager
def immutable(paths: Sequence[Path]) -> Iterator[None]:
    """`paths` immutable (chattr +i) for the block; the attribute is cleared again whatever happens."""
    try:
        assert _chattr("+i", paths), "chattr +i failed"
        yield
    finally:
        _chattr("-i", paths)
