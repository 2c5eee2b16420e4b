"""Files that survive a crash or a power cut: a reader finds the old file or the whole new one.

`atomic` writes under a temporary name, flushes the data to the disk (fsync), renames it into place
and flushes the folder, so that the rename is on the disk too; `replace` does the last two steps for a
file written elsewhere; `append_line` flushes each line it appends. A leaf: it imports nothing of the
package.
"""
import json
import os
import uuid


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
