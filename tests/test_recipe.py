"""The paper's optimizer recipe."""

import pytest

from kerasrobust.training import paper_optimizer
from kerasrobust.training import step_decay_schedule


def test_default_milestones_at_half_and_three_quarters():
    schedule = step_decay_schedule(steps_per_epoch=10, epochs=200)
    for step, expected in [(0, 0.1), (999, 0.1), (1000, 0.1), (1001, 0.01),
                           (1500, 0.01), (1501, 0.001), (1999, 0.001)]:
        assert float(schedule(step)) == pytest.approx(expected)


def test_paper_optimizer_is_sgd_with_momentum():
    optimizer = paper_optimizer(steps_per_epoch=5, epochs=4,
                                learning_rate=0.05)
    assert optimizer.momentum == 0.9
    assert float(optimizer.learning_rate) == pytest.approx(0.05)


def test_custom_milestones_and_errors():
    schedule = step_decay_schedule(2, 10, 1.0, decay_epochs=[3], decay_rate=0.5)
    assert float(schedule(6)) == 1.0 and float(schedule(7)) == 0.5
    with pytest.raises(ValueError, match=r"`decay_epochs` must be in"):
        step_decay_schedule(2, 10, decay_epochs=[10])
    with pytest.raises(ValueError, match=r"`epochs` must be in \[1"):
        step_decay_schedule(2, 0)
    with pytest.raises(ValueError, match=r"`momentum` must be in \[0, 1\)"):
        paper_optimizer(2, 10, momentum=1.0)


@pytest.mark.parametrize("command", ["train", "tune"])
def test_command_line_defaults_are_the_papers_recipe(command):
    # ALPS Section 5.1 (Zhang et al.'s MixUp recipe): SGD, lr 0.1,
    # momentum 0.9, coupled weight decay 1e-4, written out by hand.
    from kerasrobust.cli import build_parser

    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices[command]
    defaults = {a.dest: a.default for a in sub._actions}
    assert (defaults["lr"], defaults["momentum"],
            defaults["weight_decay"]) == (0.1, 0.9, 1e-4)
