"""The training methods' hyperparameter flags, made from their declarations.

Every flag, its type, accepted values, per-method defaults and help come
from `kerasrobust.training.hyperparameters.METHOD_SPECS`, so the command
line cannot drift from the library. The flags default to "not given"
(`argparse.SUPPRESS`): a flag given for a method that does not have it is
an error naming the methods it applies to, and only the chosen method's
values reach the wrapper and the records.
"""

import argparse

from kerasrobust._names import MODEL_NAMES
from kerasrobust.cli._options import import_without_package

# The declarations module imports neither Keras nor TensorFlow; loading it
# without `kerasrobust.training` keeps `--help` fast.
_declarations = import_without_package(
    "kerasrobust.training.hyperparameters")
METHOD_SPECS = _declarations.METHOD_SPECS
format_value = _declarations.format_value
method_spec = _declarations.method_spec
not_applicable_message = _declarations.not_applicable_message

#: The training methods (`--method`) and architectures (`--model`) of
#: train and tune; `cifar_resnet` needs a depth, `cifar_resnet110` is its
#: named variant.
METHODS = tuple(METHOD_SPECS)
ARCHITECTURES = tuple(name for name in MODEL_NAMES if name != "cifar_resnet")

FAMILY_TITLES = {
    "alps": "method hyperparameters (ALPS paper)",
    "smoothing": "randomized-smoothing methods (ADRE paper)",
}


def flag(name):
    """The CLI flag of a hyperparameter name: `adv_epsilon` ->
    `--adv-epsilon`."""
    return "--" + name.replace("_", "-")


def declared_flags(searched=None):
    """`{name: [(method, Hyperparameter), ...]}`, every method-level
    hyperparameter in order of first appearance. `searched=False` keeps the
    ones the tuner does not search (fixed settings of a trial)."""
    flags = {}
    for method, spec in METHOD_SPECS.items():
        for h in spec.hyperparameters:
            if searched is False and h.search is not None:
                continue
            flags.setdefault(h.name, []).append((method, h))
    return flags


def flag_help(entries):
    """The help of one flag from its declarations in several methods."""
    h = entries[0][1]
    by_default = {}
    for method, declaration in entries:
        by_default.setdefault(format_value(declaration.default),
                              []).append(method)
    defaults = "; ".join(f"{value} for --method {', '.join(methods)}"
                         for value, methods in by_default.items())
    allowed = "" if h.choices is not None else f", allowed {h.allowed()}"
    text = f"{h.help}{allowed}. Default: {defaults}. Source: {h.reference}"
    return text.replace("%", "%%")


def add_method_and_model_arguments(group, method_help, model_help):
    """`--method` (default alps) and `--model` (default small_cnn), the
    choices of train and tune."""
    group.add_argument("--method", choices=METHODS, default="alps",
                       help=method_help)
    group.add_argument("--model", choices=ARCHITECTURES, default="small_cnn",
                       help=model_help)


def add_method_arguments(parser, searched=None, title=None):
    """Adds one flag per declared hyperparameter to `parser`, in a group
    per method family (or one group titled `title`). Returns the names."""
    flags = declared_flags(searched)
    groups = {}
    for name, entries in flags.items():
        family = METHOD_SPECS[entries[0][0]].family
        key = title or FAMILY_TITLES[family]
        if key not in groups:
            groups[key] = parser.add_argument_group(key)
        h = entries[0][1]
        kwargs = dict(dest=name, default=argparse.SUPPRESS,
                      help=flag_help(entries))
        if h.switch:
            kwargs.update(action="store_const", const=True)
        elif h.choices is not None:
            kwargs.update(choices=h.choices)
        else:
            kwargs.update(type=int if h.integer else float)
        groups[key].add_argument(flag(name), **kwargs)
    return tuple(flags)


def given_hyperparameters(args, method, names):
    """The hyperparameters among `names` given on the command line,
    checked against `method`'s declarations (errors name the flags)."""
    spec = method_spec(method)
    given = {n: getattr(args, n) for n in names if hasattr(args, n)}
    for name in given:
        if name not in spec.names:
            raise ValueError(
                not_applicable_message(name, method, flag, among=names))
    return {n: spec.hyperparameter(n).check(v, flag(n))
            for n, v in given.items()}
