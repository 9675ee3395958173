"""Names of the library's registries, in a module without TensorFlow.

The command line lists these names in `kerasrobust <command> --help`
(`--dataset`, `--model`, `--objective`, `--tuner`, certification
`--method`, `--sampling-precision`) without loading TensorFlow, Keras or
keras-tuner, which the modules that implement them need.

Where the implementing module may import from here it does
(`smoothing.certify.METHODS`, `smoothing.sampling.PRECISIONS`,
`tuning.OBJECTIVES`, `tuning.TUNERS`). The names of the dataset loaders
(`kerasrobust.data.DATASET_NAMES`) and the model builders
(`kerasrobust.models.MODELS`) are built in their packages, and
tests/test_cli_main.py checks that these tuples list the same names in the
same order.
"""

#: Certification procedures (`certify(method=...)`): CERTIFY (Cohen et al.
#: 2019) and T-CERTIFY (Feng et al. 2021, Algorithm 2).
CERTIFY_METHODS = ("cohen", "tight")

#: Precisions the noisy forward passes of smoothing can run in.
SAMPLING_PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")

#: Objective kinds of the hyperparameter search (`tuning.objective`).
OBJECTIVES = ("val_accuracy", "val_loss", "robust_accuracy",
              "certified_accuracy", "acr")

#: keras-tuner tuners by name (RandomSearch, BayesianOptimization,
#: Hyperband).
TUNERS = ("random", "bayesian", "hyperband")

#: `kerasrobust.data.DATASET_NAMES` (checked equal by the tests).
DATASET_NAMES = ("digits", "cifar10", "cifar100", "svhn_cropped", "mnist",
                 "tiny_imagenet", "mnist_idx", "npz")

#: The keys of `kerasrobust.models.MODELS` (checked equal by the tests).
MODEL_NAMES = ("small_cnn", "preact_resnet18", "vgg16", "cifar_resnet",
               "cifar_resnet110", "resnet50")
