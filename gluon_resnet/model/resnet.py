"""The neon model-zoo residual networks as Gluon HybridBlocks, trained as a static graph (hybridized with static
memory: tools/train.py's default on every device) or imperatively (--no-hybridize, CPU), and hybridized in every
export.

CIFAR-10: 6n+2 layers (n = 3, 5, 9, 18 -> ResNet-20/32/56/110), 16/32/64 filters, 32x32 input.
Mini-Places2: 8n+2 layers (default n = 9), stride-2 stem, 32/64/128/256 filters, 112x112 input.

Both use post-activation blocks (conv-BN-ReLU, conv-BN, + shortcut, ReLU) and neon's head:
global average pooling -> linear without bias -> BatchNorm. Softmax belongs to the loss.
"""
from dataclasses import dataclass

from ..compat import mx
from ..recipes import family_of

nn = mx.gluon.nn

# neon's BatchNorm: running = 0.9 * running + 0.1 * batch, eps 1e-3 (Gluon's default eps is 1e-5).
BN_MOMENTUM = 0.9
BN_EPS = 1e-3


def _bn(channels):
    return nn.BatchNorm(momentum=BN_MOMENTUM, epsilon=BN_EPS, in_channels=channels)


def _conv3x3(channels, stride, in_channels):
    return nn.Conv2D(channels, 3, strides=stride, padding=1, use_bias=False, in_channels=in_channels)


class ZeroPadShortcut(nn.HybridBlock):
    """Option A: keep every `stride`-th pixel, append zero channels. Owns no parameter.

    Identical to neon's frozen 1x1 stride-2 conv with IdentityInit (eye(C_in) padded with zeros),
    which neon leaves out of the optimizer.
    """

    def __init__(self, in_channels, channels, stride, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= channels - in_channels <= in_channels:
            raise ValueError(f"option-A shortcut can widen {in_channels} channels to at most "
                             f"{2 * in_channels}, not {channels}")
        self._extra, self._stride = channels - in_channels, stride

    def hybrid_forward(self, F, x):
        s = self._stride
        x = F.slice(x, begin=(None,) * 4, end=(None,) * 4, step=(1, 1, s, s))
        if self._extra:
            zeros = F.zeros_like(F.slice_axis(x, axis=1, begin=0, end=self._extra))
            x = F.concat(x, zeros, dim=1)
        return x


class ProjectionShortcut(nn.HybridSequential):
    """Option B: trainable 1x1 conv + BN (GluonCV's cifar_resnet*_v1 shortcut)."""

    def __init__(self, in_channels, channels, stride, **kwargs):
        super().__init__(**kwargs)
        self.add(nn.Conv2D(channels, 1, strides=stride, use_bias=False, in_channels=in_channels), _bn(channels))


SHORTCUTS = {"A": ZeroPadShortcut, "B": ProjectionShortcut}


class ResidualBlock(nn.HybridBlock):
    """conv3x3(stride)-BN-ReLU -> conv3x3-BN, plus shortcut, then ReLU (post-activation)."""

    def __init__(self, in_channels, channels, stride=1, shortcut="A", **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.body = nn.HybridSequential(prefix="")
            self.body.add(_conv3x3(channels, stride, in_channels), _bn(channels), nn.Activation("relu"),
                          _conv3x3(channels, 1, channels), _bn(channels))
            if stride != 1 or in_channels != channels:
                self.shortcut = SHORTCUTS[shortcut](in_channels, channels, stride, prefix="shortcut_")
            else:
                self.shortcut = None

    def hybrid_forward(self, F, x):
        residual = self.body(x)
        identity = x if self.shortcut is None else self.shortcut(x)
        # `+`: elemwise_add in the static graph, which keeps oneDNN's blocked layout (fast there once the
        # pooling gets the default layout, GlobalAvgPool); broadcast_add when imperative, which hands the
        # ReLU the default layout (elemwise_add there measured 334 vs 501 images/s).
        return F.Activation(residual + identity, act_type="relu")


class GlobalAvgPool(nn.GlobalAvgPool2D):
    """Global average pooling of its input in MXNet's default (NCHW) memory layout.

    The identity reshape first takes the input out of oneDNN's blocked layout. Pooled straight from the
    blocked layout (the static graph's), MXNet 1.9's oneDNN 2.4 gives the pooling's gradient the layout
    acdB16b, for which it has only reference kernels: the pooling backward and the last stage's BatchNorm
    backward then took 19 and 133 ms of a 340 ms training step (ResNet-20, batch 128, DNNL_VERBOSE).
    The exported ONNX graph leaves the reshape out (deploy/onnx_graph.py)."""

    def hybrid_forward(self, F, x):
        return super().hybrid_forward(F, F.reshape(x, shape=(0, 0, 0, 0)))


class NeonResNet(nn.HybridBlock):
    """Stem conv-BN-ReLU, stages of `n` residual blocks, fully convolutional neon head.

    The head pools globally before the linear layer, so one network serves every input size
    (multiscale evaluation); for the training size this is neon's 8x8 / 7x7 average pool.
    """

    def __init__(self, n, stage_channels, stem_stride, classes, shortcut="A", **kwargs):
        super().__init__(**kwargs)
        if n < 1:
            raise ValueError(f"n (blocks per stage) must be >= 1, got {n}")
        if shortcut not in SHORTCUTS:
            raise ValueError(f"shortcut must be one of {sorted(SHORTCUTS)}, got {shortcut!r}")
        self.n, self.classes, self.shortcut = n, classes, shortcut
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            stem = stage_channels[0]
            self.features.add(_conv3x3(stem, stem_stride, 3), _bn(stem), nn.Activation("relu"))
            in_channels = stem
            for i, channels in enumerate(stage_channels):
                stage = nn.HybridSequential(prefix=f"stage{i + 1}_")
                with stage.name_scope():
                    for j in range(n):
                        stride = 2 if (i > 0 and j == 0) else 1
                        stage.add(ResidualBlock(in_channels, channels, stride, shortcut))
                        in_channels = channels
                self.features.add(stage)
            self.features.add(GlobalAvgPool())
            self.output = nn.HybridSequential(prefix="")
            self.output.add(nn.Dense(classes, use_bias=False, in_units=in_channels), _bn(classes))

    @classmethod
    def depth_for(cls, n):
        """Layers with weights along the main path: stem + 2 per block + output linear."""
        return 2 + 2 * n * cls._num_stages

    @property
    def depth(self):
        return self.depth_for(self.n)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


class CifarResNet(NeonResNet):
    """neon's `cifar10_msra.py`: 6n+2 layers, 16/32/64 filters, 3x3 stride-1 stem."""
    _num_stages = 3
    input_size = 32

    def __init__(self, n, classes=10, shortcut="A", **kwargs):
        super().__init__(n, (16, 32, 64), 1, classes, shortcut, **kwargs)


class MiniPlacesResNet(NeonResNet):
    """neon's Mini-Places2 scene ResNet: 8n+2 layers, 32/64/128/256 filters, 3x3 stride-2 stem."""
    _num_stages = 4
    input_size = 112

    def __init__(self, n=9, classes=100, shortcut="A", **kwargs):
        super().__init__(n, (32, 64, 128, 256), 2, classes, shortcut, **kwargs)


def init_params(net, ctx=None):
    """neon's Kaiming(local=True): weights ~ N(0, sqrt(2 / fan_in)); BN gamma 1, beta 0."""
    # MSRAPrelu with slope 0 is a Gaussian Xavier with magnitude 2 over fan_in = C_in * kh * kw.
    net.initialize(mx.init.MSRAPrelu(factor_type="in", slope=0.0), ctx=ctx)
    return net


FAMILIES = {"cifar": CifarResNet, "miniplaces": MiniPlacesResNet}


@dataclass(frozen=True)
class ModelSpec:
    """Everything that defines a network of the family: build it, name it, know its depth."""
    family: str      # "cifar" or "miniplaces" (recipes.family_of)
    n: int
    shortcut: str = "A"
    classes: int = None

    @property
    def depth(self):
        return FAMILIES[self.family].depth_for(self.n)

    @property
    def name(self):
        return f"ResNet-{self.depth}"


    def build(self, ctx=None, initialize=True):
        cls = FAMILIES[self.family]
        net = cls(self.n, self.classes or (100 if cls is MiniPlacesResNet else 10), self.shortcut)
        return init_params(net, ctx) if initialize else net


def get_model(dataset, n, classes=None, shortcut="A", ctx=None, initialize=True):
    """The network for a packed dataset name: `miniplaces`, or the CIFAR family for any other
    (`cifar10`, `digits`, a `folder` dataset). `classes` defaults to 10 (CIFAR) / 100 (Mini-Places2)."""
    return ModelSpec(family_of(dataset), n, shortcut, classes).build(ctx, initialize)
