"""Devices from MXNet's command-line conventions: `--gpus 0,1` (empty = CPU) or `--cpus N`."""
from ..compat import mx
from ..errors import UserError

GPU_INSTALL = ("pip install mxnet-cu112==1.9.1 (or pip install -e '.[gpu]') with CUDA 11.2, cuDNN 8 and "
               "NCCL 2 on the library path; see the README's GPU section")


def has_cuda():
    return mx.runtime.Features().is_enabled("CUDA")


def contexts(gpus="", cpus=1):
    """The training devices. Several CPU contexts give the same data-parallel path as several GPUs."""
    if not gpus:
        if cpus < 1:
            raise UserError(f"--cpus must be >= 1, not {cpus}")
        return [mx.cpu(i) for i in range(cpus)]
    try:
        ids = [int(g) for g in str(gpus).split(",") if g.strip()]
    except ValueError:
        raise UserError(f"--gpus takes GPU numbers separated by commas, such as 0,1; not {gpus!r}") from None
    if not has_cuda():
        raise UserError(f"--gpus {gpus} asks for GPUs, but the installed MXNet is the CPU build: {GPU_INSTALL}. "
                        f"Or leave out --gpus to train on the CPU (--cpus N for data-parallel CPU contexts)")
    visible = mx.context.num_gpus()
    missing = [i for i in ids if not 0 <= i < visible]
    if missing:
        raise UserError(f"--gpus {gpus}: there is no GPU {missing[0]}; MXNet sees {visible} GPU(s)"
                        + (f", numbered 0-{visible - 1}" if visible else "")
                        + "; check nvidia-smi and CUDA_VISIBLE_DEVICES")
    if len(set(ids)) != len(ids):
        raise UserError(f"--gpus {gpus} names a GPU twice")
    return [mx.gpu(i) for i in ids]


def check_dtype(dtype, ctxs):
    if dtype == "bfloat16":
        from ..model.precision import check_bf16
        check_bf16(ctxs)
    if dtype == "float16" and ctxs[0].device_type != "gpu":
        raise UserError("--dtype float16 needs GPUs (MXNet's CPU float16 kernels are slow and partial); "
                        "use --dtype float32 on the CPU")


def memory_used_mb(ctxs):
    """Memory in use per GPU now (MiB), or None on CPU."""
    if ctxs[0].device_type != "gpu":
        return None
    return [(total - free) / 2**20 for free, total in (mx.context.gpu_memory_info(c.device_id) for c in ctxs)]


def peak_memory_mb(ctxs, peak=None):
    """The larger of `peak` and the most memory in use on any of the GPUs now (MiB); None on the CPU."""
    used = memory_used_mb(ctxs)
    return max(peak or 0, max(used)) if used else peak
