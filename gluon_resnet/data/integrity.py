"""Damaged files get one line naming them, never a crash.

MXNet 1.9 does not survive damaged inputs: a `.rec` cut short crashes ImageRecordIter (segfault or
double free), an undecodable record surfaces as an OpenCV `resize` assertion that names no record, and
a cut `.params` reads "Invalid NDArray file format". So files are checked before MXNet opens them:

* the packer records each `.rec` / `.idx` file's size and SHA-256 in dataset.json;
* every command that reads a packed folder checks the sizes (instant), and the hashes once per file
  version (size + mtime), remembered in a stamp file beside them (or in ~/.cache when the folder is
  read-only); `tools/im2rec_pack.py --check DIR` re-hashes everything;
* when MXNet still fails to decode a record (a flipped byte changes neither size nor mtime), the split
  is scanned for the record that does not decode, and the error names it.
"""
import contextlib
import hashlib
import json
import logging
import os

from ..errors import Command, UserError
from ..fileio import check_file, write_json
from .dataset import SPLITS, read_meta, split_path

log = logging.getLogger("gluon_resnet")
STAMP = ".checked.json"


def open_dataset(data_dir):
    """dataset.json of a packed folder (dataset.read_meta), with the record files checked against it
    (check_dataset_files): what every command that reads the records calls first."""
    meta = read_meta(data_dir)
    check_dataset_files(data_dir, meta)
    return meta


def _stamp_paths(data_dir):
    """Where the hash results are remembered: beside the files, else the user's cache."""
    yield os.path.join(data_dir, STAMP)
    key = hashlib.sha256(os.path.realpath(data_dir).encode()).hexdigest()[:24]
    yield os.path.join(os.path.expanduser("~"), ".cache", "gluon-resnet", "checked", key + ".json")


def _read_stamp(data_dir):
    for path in _stamp_paths(data_dir):
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            continue
    return {}


def _write_stamp(data_dir, stamp):
    for path in _stamp_paths(data_dir):
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            write_json(path, stamp)
            return
        except OSError:
            continue  # read-only: the next place, or hash again next time


def _version(path):
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns]


_noted = set()


def check_dataset_files(data_dir, meta, full=False):
    """Sizes every time; SHA-256 once per file version (all of them with `full`)."""
    fix = ("copy it again, or pack the dataset again (",
           Command("tools/im2rec_pack.py", "...", "--out", data_dir, "--force"), ")")
    if not meta.files:
        _check_index(data_dir, fix)
        if data_dir not in _noted:
            _noted.add(data_dir)
            log.warning(f"note: {data_dir} was packed without file checksums (an older version): damaged files "
                        f"cannot all be detected; pack it again to add them")
        return
    for name, expected in sorted(meta.files.items()):
        check_file(os.path.join(data_dir, name), expected, fix, hash_it=False)
    stamp = _read_stamp(data_dir) if not full else {}
    todo = [n for n in sorted(meta.files) if stamp.get(n) != _version(os.path.join(data_dir, n))]
    for name in todo:
        check_file(os.path.join(data_dir, name), meta.files[name], fix, fresh=full)
        stamp[name] = _version(os.path.join(data_dir, name))
    if todo:
        _write_stamp(data_dir, stamp)


def _check_index(data_dir, fix):
    """Without checksums: every offset in a split's .idx must lie inside its .rec (a cut .rec crashes MXNet)."""
    for split in SPLITS:
        rec, idx = split_path(data_dir, split), split_path(data_dir, split, "idx")
        if not os.path.isfile(idx):
            continue
        with open(idx) as f:
            last = max((int(line.split("\t")[1]) for line in f if line.strip()), default=-1)
        if last >= os.path.getsize(rec):
            raise UserError(f"{rec} is damaged: cut short at {os.path.getsize(rec):,} bytes, but {idx} has a record "
                            f"at byte {last:,}; ", *fix)


def undecodable_records(data_dir, split, limit=3):
    """[(record number, reason)] of the first records of a split that do not unpack or decode."""
    import cv2
    import numpy as np

    from ..compat import mx
    bad = []
    rec = mx.recordio.MXIndexedRecordIO(split_path(data_dir, split, "idx"), split_path(data_dir, split), "r")
    try:
        for key in rec.keys:
            try:
                _, buf = mx.recordio.unpack(rec.read_idx(key))
                ok = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_COLOR) is not None
                reason = "does not decode as an image"
            except Exception as e:  # a broken record header: RecordIO's own check
                ok, reason = False, f"cannot be read ({str(e).splitlines()[0][:80]})"
            if not ok:
                bad.append((key, reason))
                if len(bad) == limit:
                    break
    finally:
        rec.close()
    return bad


@contextlib.contextmanager
def reading(data_dir, split):
    """Turn an MXNet decode failure while reading `split` into one line naming the file and record."""
    import struct

    from ..compat import mx
    try:
        yield
    except (mx.base.MXNetError, struct.error) as e:
        rec = split_path(data_dir, split)
        bad = undecodable_records(data_dir, split)
        first = next((line for line in str(e).splitlines() if "rror" in line), str(e).splitlines()[-1])[:160]
        if not bad:
            raise UserError(f"MXNet could not read {rec} ({first.strip()}); check the pack with `",
                            Command("tools/im2rec_pack.py", "--check", data_dir), "`") from None
        names = _names(data_dir, split, [k for k, _ in bad])
        where = ", ".join(f"record {k}{names.get(k, '')} {why}" for k, why in bad)
        raise UserError(f"{rec} is damaged: {where}; copy it again, or pack the dataset again") from None


def _names(data_dir, split, keys):
    """{record: " (name)"} from the split's .lst, where it is there to read."""
    found = {}
    try:
        with open(split_path(data_dir, split, "lst")) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 3 and parts[0].isdigit() and int(parts[0]) in keys:
                    found[int(parts[0])] = f" ({parts[2]})"
    except OSError:
        pass
    return found
