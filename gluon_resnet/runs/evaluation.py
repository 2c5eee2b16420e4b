"""Top-1 / top-5 error, single-scale and multiscale (the recipe's protocol), for any predictor.

A predictor maps an NCHW float32 numpy batch to logits; MXNet nets and onnxruntime sessions both fit,
and both read the same pixels from `multiscale_batches`, so their numbers are comparable exactly.
"""
import time

import numpy as np

from ..compat import mx
from ..data.iterators import multiscale_batches


def softmax(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def topk_wrong(scores, labels, k):
    """Per image: 1 when the label is not among the k highest scores."""
    k = min(k, scores.shape[1])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return ~(top == labels[:, None]).any(axis=1)


def mxnet_predictor(net, ctx=None):
    ctx = ctx or mx.cpu()
    return lambda x: net(mx.nd.array(x, ctx=ctx)).asnumpy()


def evaluate(predict, data_dir, meta, scales=None, batch_size=100, max_images=None, progress=False,
             keep_logits=False):
    """Errors (fractions) single-scale (the crop size) and multiscale (softmax averaged over `scales`),
    per scale, and throughput. Scales default to the recipe's. `keep_logits` adds {scale: (N, C)}."""
    from tqdm import tqdm

    crop = meta.crop_size
    scales = tuple(scales or meta.recipe.eval_scales)
    wanted = tuple(dict.fromkeys((crop,) + scales))  # the single scale first, no repeats
    wrong = {key: [] for key in [*(("scale", s) for s in wanted), "multi"]}
    seconds, images, logits = 0.0, 0, {s: [] for s in wanted}
    total = meta.counts["val"] if max_images is None else min(max_images, meta.counts["val"])
    for labels, batch in tqdm(multiscale_batches(data_dir, meta, wanted, batch_size, max_images=max_images),
                              total=-(-total // batch_size), desc="evaluate", unit="batch", disable=not progress):
        probs = {}
        for s in wanted:
            start = time.perf_counter()
            out = predict(batch[s])
            seconds += time.perf_counter() - start
            probs[s] = softmax(out)
            if keep_logits:
                logits[s].append(out)
            wrong["scale", s].append([topk_wrong(probs[s], labels, 1), topk_wrong(probs[s], labels, 5)])
        avg = np.mean([probs[s] for s in scales], axis=0)
        wrong["multi"].append([topk_wrong(avg, labels, 1), topk_wrong(avg, labels, 5)])
        images += len(labels) * len(wanted)

    def errors(rows):
        top1, top5 = (np.concatenate(col) for col in zip(*rows))
        return {"top1_err": float(top1.mean()), "top5_err": float(top5.mean())}

    result = {
        "single": {**errors(wrong["scale", crop]), "scale": crop},
        "multiscale": {**errors(wrong["multi"]), "scales": list(scales)},
        "per_scale": {str(s): errors(wrong["scale", s]) for s in wanted},
        "images": total,
        "images_per_second": images / seconds if seconds else None,
    }
    if keep_logits:
        result["logits"] = {s: np.concatenate(v) for s, v in logits.items()}
    return result
