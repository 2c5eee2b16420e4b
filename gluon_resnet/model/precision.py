"""bfloat16 training on CPUs that have it, through MXNet 1.9's AMP, scoped to one network.

`mx.contrib.amp.init()` rewrites mx.symbol and mx.ndarray process-wide, once: every graph traced after it
gets amp_cast nodes, the MXNet export and model.onnx included. So AMP is on only while the hybridized
network traces its graph (one inference-mode forward pass, which changes no parameter or statistic) and
the namespaces are restored right after: the cached graph keeps its casts, and nothing else sees AMP.
AMP's default bf16 lists are used as they are: BatchNorm runs in bf16 with fp32 parameters (forcing it
to fp32 cost 30 % of the gain in a measurement). The parameters, so the checkpoints and the SGD update,
stay fp32; the network's outputs are cast to fp32 before the loss and every metric.
"""
import contextlib

from ..errors import UserError

CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags(path="/proc/cpuinfo"):
    """The instruction-set flags of this machine's first CPU (empty where /proc/cpuinfo is missing)."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def bf16_supported(flags=None):
    return bool(set(CPU_FLAGS) & (cpu_flags() if flags is None else flags))


def bf16_outlook(flags=None):
    """One line: whether this CPU trains in bfloat16, and where its kind of CPU was measured against float32
    (docs/performance.md, with dates and machines). MXNet 1.9's oneDNN 2.4.4 runs its AVX512-BF16 kernels on
    every bf16 CPU and AMX ones on none, so an AMX CPU gains nothing from its tiles."""
    flags = cpu_flags() if flags is None else flags
    if "amx_bf16" in flags:
        return ("this CPU trains in bfloat16 (--dtype bfloat16), but it is not expected to be faster than float32 "
                "here: MXNet's oneDNN 2.4.4 has no AMX kernels (measured: docs/performance.md, bfloat16 training)")
    if "avx512_bf16" in flags:
        return ("this CPU trains in bfloat16 (--dtype bfloat16) on its AVX512-BF16 kernels; against float32 it "
                "measured as in docs/performance.md, bfloat16 training")
    return f"this CPU has neither {' nor '.join(CPU_FLAGS)}: --dtype bfloat16 does not train here"


def check_bf16(ctxs, flags=None):
    """One line where --dtype bfloat16 cannot train: GPUs, or a CPU without AVX512-BF16 / AMX-BF16."""
    if ctxs[0].device_type == "gpu":
        raise UserError("--dtype bfloat16 trains on the CPU only (MXNet 1.9's bf16 AMP has CPU kernels only); use "
                        "--dtype float16 on GPUs")
    if not bf16_supported(flags):
        raise UserError(f"--dtype bfloat16 needs a CPU with {' or '.join(CPU_FLAGS)} (not in /proc/cpuinfo here: "
                        f"oneDNN has no bf16 convolution without them); use --dtype float32 on this machine")


@contextlib.contextmanager
def bf16_amp():
    """AMP (bfloat16, default lists) inside the block; mx.symbol / mx.ndarray exactly as before after it."""
    from ..compat import amp_namespaces, amp_state, submodule
    saved = [(m, dict(vars(m))) for m in amp_namespaces()]
    state = amp_state()
    submodule("contrib.amp").init(target_dtype="bfloat16")
    try:
        yield
    finally:
        for module, before in saved:
            now = vars(module)
            for name in [n for n in now if n not in before]:
                delattr(module, name)
            for name, value in before.items():
                if now.get(name) is not value:
                    setattr(module, name, value)
        amp_state(state)


def trace_in_bf16(net, batch_shape, ctx):
    """Trace hybridized `net`'s graph with bf16 casts under bf16_amp(): one inference-mode forward
    pass (every device then runs the same cached graph)."""
    from ..compat import mx
    with bf16_amp():
        net(mx.nd.zeros(batch_shape, ctx=ctx)).wait_to_read()
