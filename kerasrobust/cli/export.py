"""`kerasrobust export`: write a saved classifier as a SavedModel for serving.

Loads a `.keras` base model (or a training wrapper, whose base model is
exported) and writes a TensorFlow SavedModel with the `serving_default`
signature (class probabilities and label), plus, with `--sigma`, the
randomized-smoothing signatures `predict_smoothed` (PREDICT) and `certify`
(CERTIFY / T-CERTIFY), computed entirely in the graph. The export is
written next to `--out` and renamed into place. Serve it with TF Serving
(`--model_base_path` pointing at a folder holding version folders such as
`1/`), or load it with `tf.saved_model.load` / `keras.layers.TFSMLayer`.
"""

import argparse
from pathlib import Path


def add_parser(commands):
    p = commands.add_parser(
        "export",
        help="export a saved model as a SavedModel for serving, with in-graph "
             "smoothed prediction and certification",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--model", required=True, metavar="PATH",
                   help="a .keras file: a base model returning class scores, "
                        "or a kerasrobust training wrapper (its base model "
                        "is exported), e.g. runs/.../model.keras")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="destination directory (default: "
                        "saved_models/<model name>)")
    p.add_argument("--sigma", type=float, default=None,
                   help="noise level of the smoothed signatures; without it "
                        "only serving_default is exported")
    p.add_argument("--probabilities", action="store_true",
                   help="the model returns probabilities, not logits")
    p.add_argument("--batch-size", type=int, default=1000,
                   help="noisy images per forward pass in the smoothed "
                        "signatures")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the served noise draws (default: fresh "
                        "draws in every serving process)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing export at --out")
    p.set_defaults(run=run)
    return p


def run(args):
    if not Path(args.model).is_file():
        raise FileNotFoundError(f"--model {args.model}: no such file.")
    if args.out is not None and Path(args.out).exists() and not args.overwrite:
        raise FileExistsError(
            f"--out {args.out} already exists; pass --overwrite to replace "
            "it.")
    import keras

    from kerasrobust.cli.certify import _load_base_model
    from kerasrobust.export import export_saved_model
    from kerasrobust.export.saved_model import SMOOTHED_SIGNATURES

    base = _load_base_model(args.model, keras)
    path = export_saved_model(
        base, args.out, sigma=args.sigma,
        from_logits=not args.probabilities, batch_size=args.batch_size,
        seed=args.seed, overwrite=args.overwrite)
    signatures = ["serving_default"]
    if args.sigma is not None:
        signatures += list(SMOOTHED_SIGNATURES)
    print(f"saved: {path}")
    print(f"signatures: {', '.join(signatures)}")
    return 0
