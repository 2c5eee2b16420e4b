"""neon's model files, read without neon: a zoo ResNet's layer tree recognised, its parameters and momentum
buffers in this package's layout (model/resnet.py), its optimizer as numbers.

A neon file (`Model.save_params` / `serialize`, neon 1.x and 2.x; `.prm` or `.pkl`) is a pickle of
{neon_version, epoch_index, backend, optimizer, model: Sequential{layers}}; docs/neon.md has the mapping.
The networks: neon's CIFAR-10 ResNet-(6n+2) (cifar10_msra.py: MergeSum of the main path and a SkipNode or a
frozen 1x1 IdentityInit convolution) and the model zoo's Mini-Places2 ResNet-(8n+2), written the same way or
with neon 1.2.0's ResidualModule. The network and n come from the tree's shape; neon's layer names come from
a global counter and are only used to name a layer in a message.

Reading needs numpy only: no MXNet, no neon.
"""
import hashlib
import io
import pickle
from dataclasses import dataclass, field

import numpy as np

from ..errors import UserError

# neon's BatchNorm defaults, which the port's BatchNorm has (model/resnet.py BN_MOMENTUM, BN_EPS).
NEON_BN = {"rho": 0.9, "eps": 1e-3}
# Per family: (stem filters, stem stride, stages, final feature map size at the training input).
FAMILIES = {"cifar": (16, 1, 3, 8), "miniplaces": (32, 2, 4, 7)}
KNOWN_VERSIONS = ("1.", "2.")


class NeonFileError(UserError):
    """A neon file that cannot be imported: damaged, not a zoo ResNet, or of a kind this reader does not know."""
    exit_code = 1


@dataclass
class NeonModel:
    """What a neon file holds, in the port's terms. `params`: Gluon's layout, in the order the port's network
    registers them (model/resnet.py): per convolution its weight (K, C, R, S); per BatchNorm gamma, beta,
    running_mean, running_var (C,); the linear layer's weight (classes, C). `momentum`: for each trained
    parameter (convolution and linear weights, BatchNorm gamma and beta) neon's velocity in the same layout,
    or None when the file holds none."""
    family: str
    n: int
    classes: int
    params: list                       # [(kind, array)], kind: conv_weight, gamma, beta, running_mean, ...
    momentum: list                     # [array] for the trained entries of params, or None
    neon_version: str
    epoch_index: int
    dtype: str
    optimizer: dict                    # {lr, mom, wd, lr_step_epochs or lr_step_every, lr_factor}
    rng_seed: int = None
    layer_names: list = field(default_factory=list)
    sha256: str = None                 # of the file's bytes, as read

    @property
    def trained(self):
        """The entries of params the optimizer updates (running statistics are not)."""
        return [a for kind, a in self.params if kind in ("conv_weight", "dense_weight", "gamma", "beta")]


class _SafeUnpickler(pickle.Unpickler):
    """Only what neon's files hold: containers, numbers, strings and numpy arrays. A pickle naming any other
    class is refused before anything runs."""
    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"),
               ("__builtin__", "object"), ("builtins", "object"), ("collections", "OrderedDict"),
               ("_codecs", "encode")}  # how a Python 3 pickle of protocol 2 spells bytes

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which a neon model file does not hold")
        return super().find_class(module, name)


def load_pickle(path):
    """(the file's top-level dict, the sha256 of its bytes); NeonFileError in one line when it is missing, cut
    short or not a neon file."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise NeonFileError(f"{path} cannot be read ({e.strerror})") from None
    try:
        obj = _SafeUnpickler(io.BytesIO(data), encoding="latin1").load()
    except Exception as e:  # noqa: BLE001 - a damaged pickle raises many kinds
        if isinstance(e, EOFError) or "truncated" in str(e):
            raise NeonFileError(f"{path} ends early ({len(data):,} bytes): the file is cut short; copy it "
                                f"again") from None
        raise NeonFileError(f"{path} is not a neon model file ({type(e).__name__}: {str(e)[:100]})") from None
    if not isinstance(obj, dict) or "model" not in obj or "neon_version" not in obj:
        raise NeonFileError(f"{path} is a pickle but not a neon model file (no model / neon_version)")
    return obj, hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- the layer tree as tokens

@dataclass
class _Token:
    what: tuple           # e.g. ("conv", 3, 16, 1), ("bn", 16), ("relu",), ("unit",), ("skip",)
    name: str             # neon's layer name, with its containers: MergeSum_3 / Sequential_6 / Convolution_9
    layer: dict = None    # the layer's dict, for its params and states


def _short(typ):
    return str(typ).rsplit(".", 1)[-1]


def _tokens(layer, path, path_text=None):
    """A neon layer (dict) as the tokens a zoo ResNet is compared in; unknown types raise NeonFileError."""
    typ, cfg = _short(layer.get("type")), layer.get("config") or {}
    name = f"{path_text or ''}{cfg.get('name', typ)}"
    here = lambda *what: [_Token(tuple(what), name, layer)]  # noqa: E731
    if typ == "Sequential":  # the model's own container is left out of the names
        inner = f"{name} / " if path_text is not None else ""
        return [t for sub in cfg.get("layers", []) for t in _tokens(sub, path, inner)]
    if typ == "MergeSum":
        branches = cfg.get("layers", [])
        if len(branches) != 2:
            return here("mergesum", len(branches))
        main, side = branches
        return (here("unit") + _tokens(main, path, f"{name} / ") + [_Token(("side",), name)]
                + _tokens(side, path, f"{name} / ") + [_Token(("end",), name)])
    if typ == "ResidualModule":  # neon 1.2.0: main path only; an IdentityInit projection is not a layer
        proj = cfg.get("projection")
        side = [_Token(("skip",), name)] if not proj else [_Token(("identity", None, 2), name, None)]
        if proj and _short(proj.get("type")) != "IdentityInit":
            side = [_Token(("projection", _short(proj.get("type"))), name)]
        return (here("unit") + [t for sub in cfg.get("layers", []) for t in _tokens(sub, path, f"{name} / ")]
                + [_Token(("side",), name)] + side + [_Token(("end",), name)])
    if typ == "SkipNode":
        return here("skip")
    if typ == "Convolution":
        fshape = tuple(cfg.get("fshape", ()))
        strides, padding = _scalar(cfg.get("strides", 1)), _scalar(cfg.get("padding", 0))
        if len(fshape) == 3 and fshape[0] == fshape[1] == 1 and _short((cfg.get("init") or {}).get("type")) == "IdentityInit":
            return here("identity", fshape[2], strides)
        k = fshape[0] if len(fshape) == 3 and fshape[0] == fshape[1] else fshape
        return here("conv", k, fshape[-1] if fshape else None, strides, padding)
    if typ == "BatchNorm":
        for key, value in NEON_BN.items():
            if key in cfg and abs(float(cfg[key]) - value) > 1e-9:
                return here("bn-" + key, float(cfg[key]))
        return here("bn", len(np.ravel((layer.get("params") or {}).get("gamma", []))))
    if typ == "Activation":
        transform = cfg.get("transform") or {}
        kind = _short(transform.get("type"))
        if kind == "Rectlin" and float((transform.get("config") or {}).get("slope", 0) or 0) == 0:
            return here("relu")
        return here("activation", kind)
    if typ == "Pooling":
        return here("pool", cfg.get("op", "max"), cfg.get("fshape"))
    if typ == "Linear":
        return here("linear", cfg.get("nout"))
    raise NeonFileError(f"{path}: layer {name} is of type {layer.get('type')}, which no zoo ResNet has: "
                        f"this reader knows Convolution, BatchNorm, Activation, MergeSum, ResidualModule, "
                        f"SkipNode, Pooling and Linear")


def _scalar(v):
    if isinstance(v, dict):  # neon 2.x may spell strides / padding per axis
        values = {v.get(k) for k in ("str_h", "str_w", "pad_h", "pad_w") if k in v}
        return values.pop() if len(values) == 1 else tuple(sorted(v.items()))
    return v


def _expected(family, n, classes):
    """The tokens of the zoo's network of `family` with n units per stage: what a file must hold."""
    stem, stem_stride, stages, pool = FAMILIES[family]
    out = [("conv", 3, stem, stem_stride, 1), ("bn", stem), ("relu",)]
    channels = stem
    for s in range(stages):
        width = stem * 2 ** s
        for j in range(n):
            stride = 2 if s > 0 and j == 0 else 1
            side = [("identity", width, 2)] if width != channels else [("skip",)]
            out += [("unit",), ("conv", 3, width, stride, 1), ("bn", width), ("relu",), ("conv", 3, width, 1, 1),
                    ("bn", width), ("side",), *side, ("end",), ("relu",)]
            channels = width
    return out + [("pool", "avg", pool), ("linear", classes), ("bn", classes), ("activation", "Softmax")]


_DESCRIBE = {"conv": lambda k, f, s, p: f"a {k}x{k} Convolution of {f} filters, stride {s}, padding {p}",
             "bn": lambda c: f"a BatchNorm of {c} channels (rho 0.9, eps 1e-3)", "relu": lambda: "a Rectlin Activation",
             "unit": lambda: "a residual unit (MergeSum or ResidualModule)", "side": lambda: "the end of the main path",
             "skip": lambda: "a SkipNode (identity shortcut)",
             "identity": lambda f, s: f"the 1x1 IdentityInit Convolution of {f} filters, stride {s}",
             "end": lambda: "the end of the residual unit",
             "pool": lambda op, f: f"an {op} Pooling of {f}x{f}", "linear": lambda c: f"a Linear layer of {c} outputs",
             "activation": lambda k: f"a {k} Activation"}


def _describe(what):
    kind, *args = what
    f = _DESCRIBE.get(kind)
    return f(*args) if f and len(args) == f.__code__.co_argcount else f"{kind} {args}"


def _matches(found, expected):
    if found[0] == "identity" and expected[0] == "identity":  # ResidualModule's projection: filters implied
        return found[1] in (None, expected[1]) and found[2] == expected[2]
    if found[0] == "pool" and expected[0] == "pool":
        return found[1] == "avg" and found[2] in (expected[2], "all", (expected[2], expected[2]))
    return found == expected


def _recognise(tokens, path):
    """(family, n, classes) of the zoo network the tokens are; NeonFileError naming the first layer that
    differs from the closest zoo network."""
    if not tokens or tokens[0].what[0] != "conv":
        first = tokens[0] if tokens else None
        raise NeonFileError(f"{path}: not a zoo ResNet: the first layer"
                            f"{f' ({first.name})' if first else ''} should be a 3x3 Convolution")
    stem = tokens[0].what
    family = next((f for f, (c, s, _, _) in FAMILIES.items() if stem[2] == c and stem[3] == s), None)
    if family is None:
        family = "cifar" if stem[2] == FAMILIES["cifar"][0] else "miniplaces"
    # n: the residual units before the first one that widens the network
    n, i = 0, 3
    while i < len(tokens) and tokens[i].what == ("unit",):
        conv = tokens[i + 1].what if i + 1 < len(tokens) else ()
        if conv[:3] != ("conv", 3, stem[2]):
            break
        n += 1
        i = next((j + 1 for j in range(i, len(tokens)) if tokens[j].what == ("end",)), len(tokens)) + 1
    linear = next((t.what for t in reversed(tokens) if t.what[0] == "linear"), ("linear", None))
    classes = linear[1]
    expected = _expected(family, max(n, 1), classes)
    for k, (token, want) in enumerate(zip(tokens, expected)):
        if not _matches(token.what, want):
            raise NeonFileError(f"{path}: not the zoo's {network_name(family, max(n, 1))}: layer {token.name} "
                                f"(top-level position {_top_index(tokens, k)}) is {_describe(token.what)}, where "
                                f"{_describe(want)} was expected")
    if len(tokens) != len(expected):
        extra = tokens[len(expected)] if len(tokens) > len(expected) else None
        where = f"layer {extra.name} follows" if extra else f"it ends after {tokens[-1].name}"
        raise NeonFileError(f"{path}: not the zoo's {network_name(family, n)}: {where}, where "
                            f"{_describe(expected[len(tokens)]) if not extra else 'nothing'} was expected")
    if n < 1:
        raise NeonFileError(f"{path}: the network has no residual unit")
    return family, n, classes


def _top_index(tokens, k):
    names = []
    for t in tokens[:k + 1]:
        top = t.name.split(" / ")[0]
        if not names or names[-1] != top:
            names.append(top)
    return len(names) - 1


def network_name(family, n):
    stages = FAMILIES[family][2]
    return f"{'CIFAR-10' if family == 'cifar' else 'Mini-Places2'} ResNet-{2 * stages * n + 2}"


# ---------------------------------------------------------------- parameters

def _array(layer, key, name, path):
    params = layer.get("params") or {}
    if key not in params:
        raise NeonFileError(f"{path}: layer {name} has no {key} parameter")
    a = np.asarray(params[key])
    if not np.issubdtype(a.dtype, np.floating):
        raise NeonFileError(f"{path}: layer {name}'s {key} is {a.dtype}, not floating point")
    if not np.isfinite(a).all():
        bad = int((~np.isfinite(a)).sum())
        raise NeonFileError(f"{path}: layer {name}'s {key} holds {bad} NaN or Inf value(s): the model diverged "
                            f"or the file is damaged")
    return a


def _velocity(layer, index, shape, name, path):
    """The optimizer's velocity `index` of a layer (None when the file has none), reshaped to `shape`."""
    states = layer.get("states") or []
    if index >= len(states):
        return None
    s = states[index]
    if isinstance(s, (list, tuple)):
        if not s:
            return None
        s = s[0]
    v = np.asarray(s, dtype=np.float64)
    if not np.isfinite(v).all():
        raise NeonFileError(f"{path}: layer {name}'s optimizer state holds NaN or Inf values")
    return v.reshape(shape) if v.size == int(np.prod(shape)) else None


def _conv_weight(w, k, filters, name, path):
    """neon's (C·R·S, K) filter matrix as Gluon's (K, C, R, S); cross-correlation in both."""
    if w.ndim != 2 or w.shape[1] != filters or w.shape[0] % (k * k):
        raise NeonFileError(f"{path}: layer {name}'s W has shape {w.shape}, not (C·{k}·{k}, {filters})")
    return w.reshape(w.shape[0] // (k * k), k, k, filters).transpose(3, 0, 1, 2)


def _check_identity(token, channels, path):
    """neon's frozen option-A shortcut: W must be [eye(C) | 0], else the port's zero-pad shortcut is not it."""
    if token.layer is None:  # ResidualModule: IdentityInit, never saved
        return
    w = _array(token.layer, "W", token.name, path)
    expect = np.hstack([np.eye(channels), np.zeros((channels, token.what[1] - channels))])
    if w.shape != expect.shape or not np.array_equal(w, expect):
        raise NeonFileError(f"{path}: layer {token.name} should be the identity shortcut [eye | 0] of shape "
                            f"{expect.shape}, but its W differs (shape {w.shape}); a trained projection is not "
                            f"option A")


def read(path, channels="rgb"):
    """NeonModel of the neon file at `path`. `channels`: the order of the input planes neon was trained on;
    "bgr" (neon's ImageLoader decodes with OpenCV) reverses the first convolution's input channels so that
    the port's RGB input meets the filters neon learned for each colour."""
    if channels not in ("rgb", "bgr"):
        raise ValueError(f"channels must be rgb or bgr, not {channels!r}")
    d, sha256 = load_pickle(path)
    version = str(d.get("neon_version"))
    if not version.startswith(KNOWN_VERSIONS):
        raise NeonFileError(f"{path} was written by neon {version}, which this reader does not know (it reads "
                            f"neon 1.x and 2.x files)")
    model = d["model"]
    if not isinstance(model, dict) or _short(model.get("type")) != "Sequential":
        raise NeonFileError(f"{path}: the model is not a neon Sequential container")
    tokens = _tokens(model, path)
    family, n, classes = _recognise(tokens, path)
    params, momentum, names, dtypes = [], [], [], set()
    has_states = True
    channels_in = unit_in = 3
    for t in tokens:
        kind, layer = t.what[0], t.layer
        if kind == "unit":
            unit_in = channels_in
        elif kind == "conv":
            w = _array(layer, "W", t.name, path)
            dtypes.add(w.dtype.name)
            g = _conv_weight(w, t.what[1], t.what[2], t.name, path)
            if g.shape[1] != channels_in:
                raise NeonFileError(f"{path}: layer {t.name} takes {g.shape[1]} channels, not {channels_in}")
            v = _velocity(layer, 0, w.shape, t.name, path)
            v = None if v is None else _conv_weight(v, t.what[1], t.what[2], t.name, path)
            if not params and channels == "bgr":
                g = g[:, ::-1]
                v = None if v is None else v[:, ::-1]
            params.append(("conv_weight", g))
            momentum.append(v)
            names.append(t.name)
            channels_in = t.what[2]
        elif kind == "identity":
            _check_identity(t, unit_in, path)
        elif kind == "bn":
            c = t.what[1]
            arrays = {k: _array(layer, k, t.name, path).reshape(-1) for k in ("gamma", "beta", "gmean", "gvar")}
            if any(a.size != c for a in arrays.values()):
                raise NeonFileError(f"{path}: layer {t.name}'s parameters do not all have {c} values")
            if (arrays["gvar"] < 0).any():
                raise NeonFileError(f"{path}: layer {t.name}'s running variance has negative values")
            # neon's BatchNorm states: [[v_beta], [v_gamma]], beta first
            v_beta, v_gamma = (_velocity(layer, i, (c,), t.name, path) for i in (0, 1))
            params += [("gamma", arrays["gamma"]), ("beta", arrays["beta"]), ("running_mean", arrays["gmean"]),
                       ("running_var", arrays["gvar"])]
            momentum += [v_gamma, v_beta]
            names += [t.name + " gamma", t.name + " beta"]
        elif kind == "linear":
            w = _array(layer, "W", t.name, path)
            if w.shape != (classes, channels_in):
                raise NeonFileError(f"{path}: layer {t.name}'s W has shape {w.shape}, not ({classes}, {channels_in})")
            params.append(("dense_weight", w))
            momentum.append(_velocity(layer, 0, w.shape, t.name, path))
            names.append(t.name)
    has_states = all(v is not None for v in momentum)
    partly = any(v is not None for v in momentum) and not has_states
    if partly:
        raise NeonFileError(f"{path}: optimizer states are present for some layers only; the file is damaged")
    return NeonModel(family, n, classes, params, momentum if has_states else None, version,
                     int(d.get("epoch_index") or 0), "/".join(sorted(dtypes)), _optimizer(d, path),
                     (d.get("backend") or {}).get("rng_seed"), names, sha256)


def _optimizer(d, path):
    """neon's GradientDescentMomentum as the port's options: lr, momentum, wd and the step schedule."""
    opt = d.get("optimizer")
    if not opt:
        return {}
    kind, cfg = _short(opt.get("type")), opt.get("config") or {}
    if kind != "GradientDescentMomentum":
        raise NeonFileError(f"{path}: the optimizer is neon's {kind}; the zoo's recipes (and this reader) use "
                            f"GradientDescentMomentum")
    for key in ("gradient_clip_norm", "gradient_clip_value"):
        if cfg.get(key) is not None:
            raise NeonFileError(f"{path}: the optimizer clips gradients ({key}), which the port's recipe does not")
    if cfg.get("nesterov"):
        raise NeonFileError(f"{path}: the optimizer uses Nesterov momentum, which the port's recipe does not")
    out = {"lr": float(cfg.get("learning_rate", 0.1)), "mom": float(cfg.get("momentum_coef", 0.0)),
           "wd": float(cfg.get("wdecay", 0.0))}
    schedule = cfg.get("schedule") or {}
    skind, scfg = _short(schedule.get("type", "Schedule")), schedule.get("config") or {}
    if skind != "Schedule":
        raise NeonFileError(f"{path}: the learning-rate schedule is neon's {skind}; this reader knows Schedule "
                            f"(step_config, change)")
    steps = scfg.get("step_config")
    change = scfg.get("change", 1.0)
    if isinstance(change, (list, tuple)):
        raise NeonFileError(f"{path}: the schedule sets learning rates per step ({change}); this reader knows a "
                            f"constant change factor")
    if isinstance(steps, (list, tuple)):
        out["lr_step_epochs"] = tuple(float(s) for s in steps)
    elif steps is None:
        out["lr_step_epochs"] = ()
    else:
        out["lr_step_every"] = int(steps)
    out["lr_factor"] = float(change)
    return out
