"""Files that survive a crash or a power cut: a reader finds the old file or the whole new one.

`atomic` writes under a temporary name, flushes the data to the disk (fsync), renames it into place
and flushes the folder, so that the rename is on the disk too; `replace` does the last two steps for a
file written elsewhere; `append_line` flushes each line it appends. `digest` and `check_file` tell a file
that is what was written from one that was cut short or changed. A leaf: of the package it imports only
errors.
"""
import hashlib
import json
import os
import uuid

from .errors import UserError

CHUNK = 1 << 22


def fsync(path):
    """Flush `path` (a file or a folder) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace(src, dst):
    """Rename the written file `src` over `dst`, with its data and the rename on the disk."""
    fsync(src)
    os.replace(src, dst)
    fsync(os.path.dirname(os.path.abspath(dst)))


def atomic(path, write):
    """`write(tmp_path)`, then `replace` it over `path`: a reader never sees a partial file. The temporary
    name is unique across hosts sharing the folder (pids are not)."""
    tmp = f"{path}.tmp-{uuid.uuid4().hex}"
    try:
        write(tmp)
        replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path, obj):
    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
    atomic(path, write)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def append_line(path, line):
    """Append `line` and a newline to `path`, flushed to the disk before returning."""
    created = not os.path.exists(path)
    with open(path, "a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())
    if created:
        fsync(os.path.dirname(os.path.abspath(path)))


def digest(path):
    """{"bytes": size, "sha256": hex} of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return {"bytes": os.path.getsize(path), "sha256": h.hexdigest()}


def _parts(fix):
    return fix if isinstance(fix, tuple) else (fix,)


def mismatch(path, what, expected, found, fix):
    return UserError(f"{path} is damaged: expected {what} {expected}, found {found}; ", *_parts(fix))


_verified = set()  # (path, inode, size, mtime, sha256) this process has hashed and found as expected


def check_file(path, expected, fix, hash_it=True, fresh=False):
    """Raise a one-line UserError when `path` differs from `expected` ({"bytes", "sha256"}); `fix` says what
    to do (text, or a tuple of text and errors.Commands). A file version already hashed in this process is not hashed again, unless `fresh`."""
    if not os.path.isfile(path):
        raise UserError(f"{path} is missing; ", *_parts(fix))
    st = os.stat(path)
    if st.st_size != expected["bytes"]:
        raise mismatch(path, "size", f"{expected['bytes']:,} bytes", f"{st.st_size:,}", fix)
    version = (os.path.realpath(path), st.st_ino, st.st_size, st.st_mtime_ns, expected["sha256"])
    if hash_it and (fresh or version not in _verified):
        found = digest(path)["sha256"]
        if found != expected["sha256"]:
            raise mismatch(path, "SHA-256", expected["sha256"][:16] + "...", found[:16] + "...", fix)
        _verified.add(version)
