"""SavedModel export for serving (TF Serving, `tf.saved_model.load`,
`keras.layers.TFSMLayer`), including in-graph randomized-smoothing
prediction and certification."""

from kerasrobust.export.saved_model import (  # noqa: F401
    BASE_SIGNATURE,
    DEFAULT_EXPORT_DIR,
    EXPORT_INFO_FILE,
    SMOOTHED_SIGNATURES,
    export_saved_model,
)
