"""Top-k errors and the multiscale protocol, independent of any runtime."""
import numpy as np
import pytest

from gluon_resnet.data.dataset import read_meta
from gluon_resnet.runs.evaluation import evaluate, softmax, topk_wrong


def test_topk_wrong():
    scores = np.array([[0.1, 0.5, 0.4], [0.7, 0.2, 0.1]])
    labels = np.array([2, 0])
    assert topk_wrong(scores, labels, 1).tolist() == [True, False]
    assert topk_wrong(scores, labels, 2).tolist() == [False, False]
    assert topk_wrong(scores, labels, 5).tolist() == [False, False]  # k capped at the class count


def test_softmax_is_stable_and_normalized():
    p = softmax(np.array([[1000.0, 1000.0, -1000.0]]))
    np.testing.assert_allclose(p, [[0.5, 0.5, 0.0]])


def test_multiscale_averages_probabilities_per_scale(packed_cifar):
    """The protocol computed by hand from what a predictor returned at each scale."""
    from conftest import read_records
    meta = read_meta(packed_cifar)
    seen = {}

    def predict(x):
        logits = np.random.RandomState(len(seen.get(x.shape[-1], [])) + x.shape[-1]).normal(size=(len(x), 10))
        seen.setdefault(x.shape[-1], []).append(logits)
        return logits

    result = evaluate(predict, packed_cifar, meta, scales=(32, 40), batch_size=8, keep_logits=True)
    y = np.array(read_records(packed_cifar, "val")[0])
    at32, at40 = np.concatenate(seen[32]), np.concatenate(seen[40])
    avg = (softmax(at32) + softmax(at40)) / 2
    assert result["multiscale"]["top1_err"] == pytest.approx(topk_wrong(avg, y, 1).mean())
    assert result["multiscale"]["top5_err"] == pytest.approx(topk_wrong(avg, y, 5).mean())
    assert result["single"]["top1_err"] == pytest.approx(topk_wrong(at32, y, 1).mean())
    assert result["per_scale"]["40"]["top1_err"] == pytest.approx(topk_wrong(at40, y, 1).mean())
    assert result["single"]["scale"] == 32 and result["multiscale"]["scales"] == [32, 40]
    assert result["images"] == 20 and result["logits"][40].shape == (20, 10)
    np.testing.assert_array_equal(result["logits"][32], at32)
