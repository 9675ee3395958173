"""Randomized smoothing: certification statistics and the smoothed classifier.

The statistics live in `bounds.py` and `certify.py` (confidence bounds,
CERTIFY / T-CERTIFY / PREDICT from class counts: one float64 TensorFlow
implementation, run eagerly by these functions and traced into exported
SavedModels) and `curves.py` (certified-accuracy summaries); certification
logs (incremental, resumable, sharded, merged) in `logs.py`, the curve plot
in `plots.py`; `SmoothedClassifier` (the Keras layer that samples noise and
counts predictions, `sampling.py`) calls them.
"""

from kerasrobust.smoothing.bounds import (  # noqa: F401
    clopper_pearson_lower,
    clopper_pearson_upper,
    runner_up_upper,
)
from kerasrobust.smoothing.certify import (  # noqa: F401
    ABSTAIN,
    certify_counts_batch,
    certify_from_counts,
    default_alpha_prime_grid,
    predict_from_counts,
)
from kerasrobust.smoothing.certify_sequential import (  # noqa: F401
    SequentialCertifyResult,
)
from kerasrobust.smoothing.curves import (  # noqa: F401
    average_certified_radius,
    certified_accuracy,
    certified_accuracy_lower_bound,
    certified_correct,
)
from kerasrobust.smoothing.logs import (  # noqa: F401
    CertifyLog,
    merge_logs,
    read_certify_tsv,
    read_settings,
    write_certify_tsv,
)
from kerasrobust.smoothing.plots import plot_certified_accuracy  # noqa: F401
from kerasrobust.smoothing.smoothed_classifier import SmoothedClassifier  # noqa: F401,E501
