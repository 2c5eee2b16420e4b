"""Top-1 / top-5 error of a trained run on its validation set, single-scale and multiscale (the whole
image at each scale, softmax averaged): the port of neon's cifar10_eval.py / miniplaces_eval.py.
The final epoch by default, as neon reports it."""
import argparse
import json

from . import main_guard
from .options import positive_int, sizes, weights_option


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--save-dir", required=True, help="a run folder of tools/train.py")
    p.add_argument("--data-dir", help="packed dataset (default: the one the run was trained on)")
    p.add_argument("--scales", type=sizes, help="comma-separated multiscale sizes (default: the recipe's)")
    weights_option(p, "evaluated")
    p.add_argument("--batch-size", type=positive_int, default=100)
    p.add_argument("--max-images", type=positive_int)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    args = p.parse_args(argv)
    args.weights = args.weights or "final"
    return args


@main_guard
def main(argv=None):
    args = parse_args(argv)
    from ..data.integrity import open_dataset
    from ..runs.folder import Run
    net, state = Run(args.save_dir).load_model(args.weights)
    from ..runs.evaluation import evaluate, mxnet_predictor
    data_dir = args.data_dir or state.data_dir
    meta = open_dataset(data_dir)
    net.hybridize()
    result = evaluate(mxnet_predictor(net), data_dir, meta, args.scales, args.batch_size, args.max_images,
                      progress=not args.json)
    if args.json:
        print(json.dumps({k: result[k] for k in ("single", "multiscale")}))
    else:
        print(f"{args.save_dir} (epoch {state.epoch}, {args.weights}) on {data_dir}, {result['images']} images")
        for name, r in [(f"single {result['single']['scale']}px", result["single"])] + \
                [(f"  at {s}px", e) for s, e in result["per_scale"].items()] + \
                [("multiscale " + ",".join(map(str, result["multiscale"]["scales"])), result["multiscale"])]:
            print(f"  {name:<26} top-1 {100 * r['top1_err']:6.2f}%   top-5 {100 * r['top5_err']:6.2f}%")
    return result
