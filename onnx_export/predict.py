#!/usr/bin/env python
"""Classify image files with a gluon-resnet ONNX model: top-5 classes and probabilities per file.

    python onnx_export/predict.py runs/digits-resnet20/model.onnx photo.jpg more/*.png [--multiscale]

Needs numpy, OpenCV and onnxruntime only; everything else (size, mean, channel order, classes, scales)
comes from the model's metadata. Copy this file into a service as it is.
"""
import argparse
import json
import os
import sys

import cv2
import numpy as np
import onnxruntime as ort


class Classifier:
    def __init__(self, path):
        try:
            self.session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own types for a missing or corrupt file
            raise ValueError(f"{path} is not a loadable ONNX model ({type(e).__name__}: {str(e)[:200]})") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        missing = [k for k in ("classes", "mean_rgb", "input_size", "channel_order", "multiscale_scales")
                   if k not in meta]
        if missing:
            raise ValueError(f"{path} was not exported by gluon-resnet: its metadata lacks {', '.join(missing)}")
        self.classes = json.loads(meta["classes"])
        self.mean = np.array(json.loads(meta["mean_rgb"]), np.float32).reshape(3, 1, 1)
        self.size, self.scales = int(meta["input_size"]), json.loads(meta["multiscale_scales"])
        self.rgb = meta["channel_order"] == "RGB"
        self.input = self.session.get_inputs()[0].name

    def preprocess(self, image, scale):
        """HWC uint8 (channel_order) -> 1x3xSxS float32: shorter side to `scale`, centre square,
        minus the mean. The same pixels as MXNet's mx.image.resize_short + center_crop (bilinear)."""
        h, w = image.shape[:2]
        if (h, w) != (scale, scale):
            nh, nw = (scale * h // w, scale) if h > w else (scale, scale * w // h)
            image = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
            y, x = (nh - scale) // 2, (nw - scale) // 2
            image = image[y:y + scale, x:x + scale]
        return image.transpose(2, 0, 1)[None].astype(np.float32) - self.mean

    def probabilities(self, image, multiscale=False):
        """Softmax over the classes; with `multiscale`, averaged over the metadata's scales."""
        probs = []
        for scale in (self.scales if multiscale else [self.size]):
            logits = self.session.run(None, {self.input: self.preprocess(image, scale)})[0][0]
            e = np.exp(logits - logits.max())
            probs.append(e / e.sum())
        return np.mean(probs, axis=0)

    def read(self, path):
        if os.path.isdir(path):
            raise ValueError(f"{path} is a folder, not an image file")
        if not os.path.exists(path):
            raise ValueError(f"{path} does not exist")
        try:
            with open(path, "rb") as f:
                data = np.frombuffer(f.read(), np.uint8)
        except OSError as e:
            raise ValueError(f"{path} cannot be read ({e.strerror})") from None
        # imdecode of the bytes read here: imread would print its own WARN line for a bad file.
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None  # BGR, 3 channels whatever the file holds
        if image is None:
            raise ValueError(f"{path} does not decode as an image")
        return image[:, :, ::-1] if self.rgb else image


def _positive(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="an .onnx file made by onnx_export/export.py (or quantize.py)")
    p.add_argument("images", nargs="+", help="JPEG / PNG files")
    p.add_argument("--multiscale", action="store_true", help="average the softmax over the metadata's scales")
    p.add_argument("--top", type=_positive, default=5, help="classes shown per image (default 5)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        clf = Classifier(args.model)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    failed = 0
    for path in args.images:
        try:
            probs = clf.probabilities(clf.read(path), args.multiscale)
        except ValueError as e:  # one bad file does not stop the others
            print(f"error: {e}", file=sys.stderr)
            failed += 1
            continue
        top = np.argsort(-probs)[:args.top]
        print(path + "  " + "  ".join(f"{clf.classes[i]} {probs[i]:.4f}" for i in top))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
