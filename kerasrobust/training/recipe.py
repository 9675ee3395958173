"""The papers' training recipe: SGD with momentum and step-wise decay.

Keras is imported inside the functions only, so the command line reads the
recipe's defaults below without loading TensorFlow
(`cli._options.import_without_package`).
"""

from kerasrobust._validation import check_number

#: Weight decay of the ALPS experiments (Section 5.1), coupled L2 as in
#: PyTorch's SGD; pass it as `weight_decay=` to a training wrapper.
PAPER_WEIGHT_DECAY = 1e-4
#: The recipe's starting learning rate, SGD momentum and step-decay factor
#: (ALPS Section 5.1, Zhang et al.'s MixUp recipe): the defaults of
#: `paper_optimizer` (rate and decay also of `step_decay_schedule`), of
#: `kerasrobust train` / `tune` and of the benchmarks' optimizer.
PAPER_LEARNING_RATE = 0.1
PAPER_MOMENTUM = 0.9
PAPER_DECAY_RATE = 0.1


def step_decay_schedule(steps_per_epoch, epochs,
                        learning_rate=PAPER_LEARNING_RATE,
                        decay_epochs=None, decay_rate=PAPER_DECAY_RATE):
    """Step-wise learning-rate decay, as in Zhang et al.'s MixUp recipe.

    The rate starts at `learning_rate` and is multiplied by `decay_rate` at
    each epoch in `decay_epochs` (default: half and three quarters of the
    run, i.e. epochs 100 and 150 of 200 as in the reference CIFAR recipe).

    Args:
        steps_per_epoch: optimizer steps per epoch, >= 1.
        epochs: total epochs, >= 1.
        learning_rate: initial rate, > 0.
        decay_epochs: epochs at which to decay; each in [1, epochs).
        decay_rate: multiplicative factor, in (0, 1].

    Returns:
        A `keras.optimizers.schedules.PiecewiseConstantDecay`.
    """
    import keras

    steps_per_epoch = check_number("steps_per_epoch", steps_per_epoch,
                                   low=1, integer=True)
    epochs = check_number("epochs", epochs, low=1, integer=True)
    learning_rate = check_number("learning_rate", learning_rate, low=0,
                                 low_open=True)
    decay_rate = check_number("decay_rate", decay_rate, low=0, high=1,
                              low_open=True)
    if decay_epochs is None:
        decay_epochs = sorted({e for e in (epochs // 2, (3 * epochs) // 4)
                               if 0 < e < epochs})
    decay_epochs = [
        check_number("decay_epochs", e, low=1, high=epochs, high_open=True,
                     integer=True)
        for e in decay_epochs
    ]
    if sorted(set(decay_epochs)) != decay_epochs:
        raise ValueError(
            "`decay_epochs` must be strictly increasing, got "
            f"{decay_epochs}."
        )
    if not decay_epochs:
        return keras.optimizers.schedules.PiecewiseConstantDecay(
            [steps_per_epoch * epochs], [learning_rate, learning_rate]
        )
    boundaries = [e * steps_per_epoch for e in decay_epochs]
    values = [learning_rate * decay_rate**i
              for i in range(len(boundaries) + 1)]
    return keras.optimizers.schedules.PiecewiseConstantDecay(
        boundaries, values
    )


def paper_optimizer(steps_per_epoch, epochs,
                    learning_rate=PAPER_LEARNING_RATE,
                    momentum=PAPER_MOMENTUM, decay_epochs=None,
                    decay_rate=PAPER_DECAY_RATE):
    """SGD with momentum 0.9 and step-wise decay (ALPS paper, Section 5.1).

    Pair it with `weight_decay=PAPER_WEIGHT_DECAY` on the training wrapper
    (coupled L2, as the paper's PyTorch recipe).

    Args:
        steps_per_epoch, epochs, learning_rate, decay_epochs, decay_rate:
            see `step_decay_schedule`.
        momentum: SGD momentum, in [0, 1).

    Returns:
        A `keras.optimizers.SGD`.
    """
    import keras

    momentum = check_number("momentum", momentum, low=0, high=1,
                            high_open=True)
    schedule = step_decay_schedule(steps_per_epoch, epochs, learning_rate,
                                   decay_epochs, decay_rate)
    return keras.optimizers.SGD(learning_rate=schedule, momentum=momentum)
