"""Deployment: the MXNet export turned into a portable ONNX graph (onnx_graph, onnx_io), INT8 quantization
(quantization), and the export checked in every installed runtime, multiscale included (runtimes,
verification).

Imports the leaves, gluon_resnet.model, gluon_resnet.data and gluon_resnet.train."""
