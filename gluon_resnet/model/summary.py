"""Model size and cost: trainable parameters, forward multiply-adds, depth, and a summary table."""
from ..compat import mx
from .resnet import get_model

nn = mx.gluon.nn


def count_parameters(net):
    """Trainable parameters (BN gamma/beta count; running statistics do not)."""
    return sum(p.data().size for p in net.collect_params().values() if p.grad_req != "null")


def _blocks(block, skip=()):
    if isinstance(block, skip):
        return
    yield block
    for child in block._children.values():
        yield from _blocks(child, skip)


def count_macs(net, size):
    """Multiply-adds of conv and dense layers for one `size` x `size` image (imperative forward)."""
    macs, handles = [0], []

    def conv_hook(block, inputs, output):
        _, cin, kh, kw = block.weight.shape
        macs[0] += output.size // output.shape[0] * cin * kh * kw

    def dense_hook(block, inputs, output):
        macs[0] += block.weight.data().size

    for b in _blocks(net):
        if isinstance(b, nn.Conv2D):
            handles.append(b.register_forward_hook(conv_hook))
        elif isinstance(b, nn.Dense):
            handles.append(b.register_forward_hook(dense_hook))
    try:
        net(mx.nd.zeros((1, 3, size, size), ctx=next(iter(net.collect_params().values())).list_ctx()[0]))
    finally:
        for h in handles:
            h.detach()
    return macs[0]


def model_table(rows=(("cifar10", 3), ("cifar10", 5), ("cifar10", 9), ("cifar10", 18), ("miniplaces", 9))):
    """The model family as printable text: depth, parameters and MACs per image."""
    lines = [f"{'model':<28}{'depth':>6}{'params':>12}{'input':>8}{'MACs/image':>14}"]
    for dataset, n in rows:
        net = get_model(dataset, n)
        size = net.input_size
        lines.append(f"{type(net).__name__ + f'(n={n})':<28}{net.depth:>6}{count_parameters(net):>12,}"
                     f"{size:>5}x{size:<2}{count_macs(net, size) / 1e6:>13.2f}M")
    return "\n".join(lines)
