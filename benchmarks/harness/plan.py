"""The rows of the report: what each measures, in which worker spec, against which base row."""
import os
from dataclasses import dataclass

from gluon_resnet.model.precision import bf16_supported
from gluon_resnet.threads import OPENMP_ENV

BF16 = bf16_supported()  # the bf16 rows need AVX512-BF16 or AMX-BF16; elsewhere they are reported absent
GLUONCV = "GluonCV cifar_resnet*_v1 as train_cifar10.py runs it by default (imperative, NAG, loss/accuracy read"


def _installed(module):
    import importlib.util
    return importlib.util.find_spec(module) is not None


@dataclass
class Row:
    """One configuration of the report. `spec` says what a worker process runs, or None with `absent` saying
    why (the peer is not installed, the CPU lacks bf16); `base` names the row whose images/s this row's ratio
    is taken against (STEP: the step alone on the same batches, measured in the same process); `detail`: a
    result the table prints beside the rate."""
    id: str
    label: str
    short: str
    group: str
    spec: dict
    base: str = None
    absent: str = None
    detail: str = None


def _unless(spec, installed=True, bf16=False):
    """(spec, None) where the row can run here, else (None, why not)."""
    if not installed:
        return None, "not installed"
    if bf16 and not BF16:
        return None, "no bf16 CPU"
    return spec, None


STEP = "the step alone"
GNU_OPENMP = {OPENMP_ENV: "gnu"}  # MXNet on libgomp, as stock MXNet runs (see gluon_resnet/compat/)


def plan(args, data):
    """The rows, in order; the first of each group (per depth or batch) is the base of the others."""
    rows, sizes = [], args.n
    b, steps = args.batch_size, args.steps
    for n in sizes:
        name = f"ResNet-{6 * n + 2}"
        for impl, label, short in (
                ("hybrid", "this project (the static graph: the training default)", "ours"),
                ("imperative", "this project, imperative (--no-hybridize)", "ours, imperative"),
                ("gluoncv", GLUONCV + " every batch, MXNet's default OpenMP threads)", "GluonCV script, its threads"),
                ("gluoncv-omp", GLUONCV + " every batch) with OMP_NUM_THREADS = all cores", "GluonCV script, all cores"),
                ("pytorch", "PyTorch 2, same architecture, channels-last", "PyTorch 2, channels-last"),
                ("bf16", "this project, --dtype bfloat16 (AMP, hybridized)", "ours, bf16"),
                ("pytorch-bf16", "PyTorch 2, bf16 autocast, channels-last", "PyTorch 2, bf16 autocast")):
            spec = {"kind": "train_step", "default_threads": impl == "gluoncv",
                    "args": {"impl": impl, "n": n, "batch": b, "steps": steps}}
            if impl.startswith("gluoncv"):  # as its users run it: stock MXNet, on libgomp
                spec["env"] = GNU_OPENMP
            spec, absent = _unless(spec, not impl.startswith("pytorch") or _installed("torch"), "bf16" in impl)
            rows.append(Row(f"train/{impl}/{name}", f"{name} training step: {label}", f"{name}: {short}",
                            "training step (vs ours)", spec, f"train/hybrid/{name}", absent))
    n0 = sizes[0]
    for dtype, env in (("float32", {}), ("bfloat16", {}), ("float32", GNU_OPENMP)):
        key, runtime = (dtype + "/gnu", ", on GNU OpenMP") if env else (dtype, "")
        spec, absent = _unless({"kind": "epoch", "env": env,
                                "args": {"data_dir": data["full"], "n": n0, "batch": b, "dtype": dtype,
                                         "batches_dir": os.path.join(data["scratch"], key.replace("/", "-"))}},
                               bf16=dtype == "bfloat16")
        rows.append(Row(f"epoch/{key}", f"ResNet-{6 * n0 + 2} epoch as tools/train.py runs it, "
                        f"{args.epoch_images:,} images, {dtype}{runtime} (vs the step alone on its batches)",
                        f"train.py epoch, {dtype}{runtime}", "epoch (vs the step alone)", spec, STEP, absent))
    for ds, label in (("cifar", "CIFAR 40x40 PNG, crop 32 + flip"),
                      ("miniplaces", "Mini-Places2 128x128 JPEG, scale jitter + crop 112 + flip")):
        for threads in (1, 2):
            rows.append(Row(f"pipeline/{ds}/threads{threads}",
                            f"input pipeline alone: {label}, preprocess_threads={threads}",
                            f"{ds}, {threads} thread{'s' if threads > 1 else ''}", "input pipeline (vs 1 thread)",
                            {"kind": "pipeline", "args": {"data_dir": data[ds], "batch": b, "threads": threads,
                                                          "batches": args.pipeline_batches}}, f"pipeline/{ds}/threads1"))
    for bs in (2, 8):
        for impl in ("imperative", "hybrid"):
            rows.append(Row(f"overhead/{impl}/batch{bs}", f"ResNet-{6 * n0 + 2} training step at batch {bs}, {impl} "
                            f"(host overhead bound)", f"batch {bs}, {impl}", "small batches (vs imperative)",
                            {"kind": "train_step", "args": {"impl": impl, "n": n0, "batch": bs, "steps": 4 * steps}},
                            f"overhead/imperative/batch{bs}", detail="ms_per_step"))
    for bs in (1, 128):
        for runtime, kind, label in (("onnxruntime", "fp32", "onnxruntime fp32"),
                                     ("onnxruntime", "raw", "onnxruntime, the converter's graph as it comes"),
                                     ("onnxruntime", "int8", "onnxruntime INT8"), ("mxnet", "fp32", "MXNet, hybridized"),
                                     ("openvino", "fp32", "OpenVINO f32"),
                                     ("openvino-bf16", "fp32", "OpenVINO, its default precision"),
                                     ("openvino", "int8", "OpenVINO INT8"), ("opencv", "fp32", "OpenCV DNN fp32")):
            spec, absent = _unless(
                {"kind": "inference", "args": {"model_dir": data["run"], "runtime": runtime, "kind": kind,
                                               "batch": bs, "seconds": args.infer_seconds}},
                runtime == "mxnet" or _installed({"opencv": "cv2"}.get(runtime, runtime.split("-")[0])))
            rows.append(Row(f"infer/{runtime}/{kind}/batch{bs}", f"ResNet-20 inference batch {bs}: {label}",
                            f"batch {bs}: {label.replace(', the converter', ', converter')}",
                            "inference (vs onnxruntime fp32)", spec, f"infer/onnxruntime/fp32/batch{bs}", absent))
    return rows
