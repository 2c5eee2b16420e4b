"""MXNet 1.9.1's private parts: the only places the project reaches past MXNet's public API. tests/test_compat.py
checks that every name in PRIVATE is on the installed MXNet, and that no module outside gluon_resnet/compat/
names them."""
from .mxnet_import import mx, submodule

PRIVATE = {
    "broadcast_now": [("gluon.Trainer", "_init_kvstore"), ("gluon.Trainer", "_init_params")],
    "barrier": [("kvstore.KVStore", "_barrier")],
    "onnx_converter": [("onnx.mx2onnx._export_helper", "load_module"), ("onnx.mx2onnx._export_onnx", "MXNetGraph")],
    "amp_namespaces": [("symbol", "_internal"), ("ndarray", "_internal"), ("base", "_OP_NAME_PREFIX_LIST")],
    "amp_state": [("contrib.amp.amp", "_amp_initialized"), ("contrib.amp.amp", "_loss_scaler")],
}


def broadcast_now(trainer):
    """`trainer`'s kvstore made and its parameters pulled from the servers now: gluon.Trainer does both
    lazily, inside the first step."""
    trainer._init_kvstore()
    trainer._init_params()


def barrier(kvstore):
    """Wait until every worker of a dist `kvstore` has come here."""
    kvstore._barrier()


def onnx_converter():
    """(load_module, MXNetGraph): the converter under mx.onnx.export_model, which takes an opset."""
    return (submodule("onnx.mx2onnx._export_helper").load_module,
            submodule("onnx.mx2onnx._export_onnx").MXNetGraph)


def amp_namespaces():
    """Every module amp.init() writes to: mx.symbol and mx.ndarray, their `op` and `_internal`
    modules and their per-prefix submodules (contrib, linalg, image, ...)."""
    found = []
    for root in (mx.symbol, mx.ndarray):
        found += [root, root.op, root._internal]
        found += [getattr(root, prefix[1:-1]) for prefix in mx.base._OP_NAME_PREFIX_LIST
                  if hasattr(root, prefix[1:-1])]
    return list({id(m): m for m in found}.values())


def amp_state(state=None):
    """AMP's process-wide state (whether amp.init() ran, its loss scaler); with `state`, set it back."""
    amp = submodule("contrib.amp.amp")  # the module that holds AMP's state, not the package
    if state is not None:
        amp._amp_initialized, amp._loss_scaler = state
    return amp._amp_initialized, amp._loss_scaler
