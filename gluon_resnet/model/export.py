"""A network as MXNet's own export: symbol and parameters, hybridized."""


def export_hybridized(net, size, prefix):
    """`prefix`-symbol.json + `prefix`-0000.params of `net` (input `data`), hybridized for export."""
    from ..compat import mx  # the run folder imports this module before MXNet is needed
    net.hybridize()
    net(mx.nd.zeros((1, 3, size, size)))  # export needs one forward pass after hybridize()
    net.export(prefix, epoch=0)
