"""`kerasrobust export`: write a saved classifier as a SavedModel for serving.

Loads a `.keras` base model (or a training wrapper, whose base model is
exported) and writes a TensorFlow SavedModel with the `serving_default`
signature (class probabilities and label), plus, with `--sigma`, the
randomized-smoothing signatures `predict_smoothed` (PREDICT) and `certify`
(CERTIFY / T-CERTIFY), computed entirely in the graph. The export is
written next to `--out` and renamed into place.

Without `--out` the export goes to a version folder that TF Serving loads,
`saved_models/<model name>/<version>`, the version being one more than the
largest numbered folder already there (1 at first): serve it with
`tensorflow_model_server --model_base_path=$PWD/saved_models/<model name>`,
which picks up the newest version. It also loads with
`tf.saved_model.load` / `keras.layers.TFSMLayer`.
"""

from pathlib import Path

from kerasrobust.cli._options import add_model_file_argument
from kerasrobust.cli._options import add_probabilities_argument
from kerasrobust.cli._options import command_parser
from kerasrobust.cli._options import load_keras_model


def add_parser(commands):
    p = command_parser(commands, "export", __doc__)
    add_model_file_argument(p, "its base model is exported")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="destination directory (default: the next "
                        "version folder saved_models/<model name>/<N>)")
    p.add_argument("--sigma", type=float, default=None,
                   help="noise level of the smoothed signatures; without it "
                        "only serving_default is exported")
    add_probabilities_argument(p)
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


def next_version_folder(base):
    """`base/<N>`, N one more than the largest numbered folder in `base`
    (TF Serving's version folders), 1 when there is none."""
    base = Path(base)
    if base.exists() and not base.is_dir():
        raise ValueError(f"{base} is a file; the export needs a folder of "
                         "version folders there.")
    versions = [int(p.name) for p in base.iterdir()
                if p.is_dir() and p.name.isdigit()] if base.is_dir() else []
    return base / str(max(versions, default=0) + 1)


def run(args):
    if args.out is not None:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out {out} is a file, not a directory.")
        if out.exists() and not args.overwrite:
            raise FileExistsError(
                f"--out {out} already exists; pass --overwrite to replace "
                "it.")
    if not Path(args.model).is_file():
        load_keras_model(args.model)  # the missing-file or directory error
    from kerasrobust.export import export_saved_model
    from kerasrobust.export.saved_model import DEFAULT_EXPORT_DIR
    from kerasrobust.export.saved_model import SMOOTHED_SIGNATURES

    model = load_keras_model(args.model)
    out = args.out
    if out is None:
        out = next_version_folder(DEFAULT_EXPORT_DIR / model.name)
    path = export_saved_model(
        model, out, sigma=args.sigma,
        from_logits=not args.probabilities, batch_size=args.batch_size,
        seed=args.seed, overwrite=args.overwrite)
    signatures = ["serving_default"]
    if args.sigma is not None:
        signatures += list(SMOOTHED_SIGNATURES)
    print(f"saved: {path}")
    print(f"signatures: {', '.join(signatures)}")
    return 0
