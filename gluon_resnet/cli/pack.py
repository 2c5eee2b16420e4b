"""Pack CIFAR-10, Mini-Places2, a class folder or the embedded digits into MXNet RecordIO.

Writes train/val .rec + .idx + .lst and dataset.json (classes, counts, RGB mean, pad, crop) to --out.
"""
import argparse
import os

from ..recipes import PACKING
from . import main_guard
from .options import fraction, nonnegative_int, positive_int, zlib_level


def by_dataset(field):
    """A Packing field's default per dataset, for help texts: `cifar10/digits/folder: 4, miniplaces: 0`."""
    groups = {}
    for name, packing in PACKING.items():
        groups.setdefault(getattr(packing, field), []).append(name)
    return ", ".join(f"{'/'.join(names)}: {value}" for value, names in groups.items())


def parse_args(argv=None):
    from ..data.packing import PAD_MODES
    from ..data.sources import DEFAULT_SRC, READERS
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", choices=sorted(READERS), default="cifar10")
    p.add_argument("--src", help="raw data; default: " + ", ".join(f"{k}: {v}" for k, v in DEFAULT_SRC.items()))
    p.add_argument("--out", help="output folder (default data/<dataset>)")
    p.add_argument("--pad", type=nonnegative_int, help=f"pixels of padding per side ({by_dataset('pad')})")
    p.add_argument("--pad-mode", choices=sorted(PAD_MODES), default="mean",
                   help="neon padded with per-row/column means; the paper with zeros")
    p.add_argument("--size", type=positive_int,
                   help=f"folder: resize images to SIZE x SIZE before padding (default {PACKING['folder'].size})")
    p.add_argument("--reencode", action="store_true",
                   help="miniplaces: store PNG instead of the original JPEG bytes")
    p.add_argument("--png-compression", type=zlib_level,
                   help="zlib level of the stored PNGs: 0 keeps them uncompressed, fastest for ImageRecordIter to "
                        f"decode; 9 is smallest on disk ({by_dataset('png_compression')})")
    p.add_argument("--workers", type=positive_int, default=os.cpu_count(), help="parallel encoding processes")
    p.add_argument("--seed", type=nonnegative_int, default=0,
                   help="shuffle seed of the training records (and of a folder's val split)")
    p.add_argument("--val-fraction", type=fraction, default=0.2,
                   help="folder without train/ and val/: the share of each class folder that goes to val")
    p.add_argument("--force", action="store_true", help="overwrite a packed dataset in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--check", metavar="DIR",
                   help="check a packed folder instead: every .rec / .idx against the size and SHA-256 in its "
                        "dataset.json (damaged or cut-short copies)")
    return p.parse_args(argv)


@main_guard
def main(argv=None):
    import time
    args = parse_args(argv)
    if args.check:
        return check(args.check)
    from ..data.packing import check_out, describe, pack
    from ..data.sources import DEFAULT_SRC, READERS
    from ..errors import UserError
    if args.dataset == "folder" and not args.src:
        raise UserError("--dataset folder needs --src DIR: DIR/<class>/ images (split into train and val), or "
                        "DIR/train/<class>/ and DIR/val/<class>/")
    out = args.out or os.path.join("data", args.dataset)
    check_out(out, args.force)  # before reading a large source
    start = time.time()
    src = args.src or DEFAULT_SRC.get(args.dataset)
    source = (READERS["folder"](src, args.val_fraction, args.seed) if args.dataset == "folder"
              else READERS[args.dataset](src))
    meta = pack(source, args.dataset, out, pad=args.pad, pad_mode=args.pad_mode, size=args.size,
                keep_bytes=False if args.reencode else None, png_compression=args.png_compression,
                workers=max(1, args.workers), seed=args.seed, force=args.force, progress=not args.quiet)
    print(describe(meta, out, round(time.time() - start, 1)))
    if source.split_note:
        print(f"  val          {source.split_note}")
    if source.ignored:
        shown = ", ".join(os.path.relpath(p, args.src) for p in source.ignored[:3])
        print(f"  ignored      {len(source.ignored)} entries that are not images of a class folder ({shown}"
              f"{', ...' if len(source.ignored) > 3 else ''})")
    return meta


def check(data_dir):
    """--check: every record file against the size and SHA-256 the packer recorded."""
    from ..data.dataset import read_meta
    from ..data.integrity import check_dataset_files
    meta = read_meta(data_dir)
    if not meta.files:
        from ..errors import UserError
        raise UserError(f"{data_dir} was packed without file checksums (an older version): pack it again to add them")
    check_dataset_files(data_dir, meta, full=True)
    print(f"{data_dir}: {', '.join(sorted(meta.files))} match dataset.json (size and SHA-256)")
