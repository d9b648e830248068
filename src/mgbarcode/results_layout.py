"""Where a run's results live, and the names inside them: the one place that says so.

Every file of a results folder, relative to it (config ``results_dir``): the workflow's rules
build their inputs and outputs from these, and whatever reads a finished folder
(:mod:`mgbarcode.assess`, :mod:`mgbarcode.run_report`, :mod:`mgbarcode.glass_report`, the
benchmarks) reads them from the same names.  A file that depends on a wildcard is a small
function of it: called with the wildcard's pattern (``trajectory_table("{trajectory}")``) it
gives the rule's pattern, called with a value it gives that file.

Beside the paths, the names the tables share: the catalogue's split names and the column
prefixes of the feature tables.

Standard library only: the jobs of every rule import this module, and their environments
hold only what their own stage needs.
"""

# ------------------------------------------------------------------------------ split names
# The values of the catalogue's ``split`` column.  The thermal splits: ``train`` (every model
# and the ULE dictionary learn from it), ``test`` (held out), ``size`` (larger systems, held
# out); mechanical (sheared) samples form their own split.
TRAIN_SPLIT = "train"
TEST_SPLIT = "test"
SIZE_SPLIT = "size"
THERMAL_SPLITS = (TRAIN_SPLIT, TEST_SPLIT, SIZE_SPLIT)
MECH_SPLIT = "mech"
# The splits no stage of training sees: the models are scored on them.
HELD_OUT_SPLITS = (TEST_SPLIT, SIZE_SPLIT)

# -------------------------------------------------------------------------- column prefixes
ULE_PREFIX = "ule_"          # a ULE's column in the fraction and count tables: ule_0042
BARCODE_PREFIX = "s_"        # a barcode entry's column: s_01 ... s_K
MEAN_SOAP_PREFIX = "soap_"   # a mean-SOAP feature's column: soap_0000 ...
# The feature columns of each feature table the models read, by the table's name.
FEATURE_PREFIX = {"fractions": ULE_PREFIX, "barcode": BARCODE_PREFIX, "counts": ULE_PREFIX,
                  "mean_soap": MEAN_SOAP_PREFIX}

# ------------------------------------------------------------------------------- batch ids
# SOAP and encoding jobs work on batches of histories of one kind; a batch id starts with its
# kind (thermal_b000) and names folders under soap/ and encoding/.  A batch of sheared
# histories is named after their split.
THERMAL_BATCH_KIND = "thermal"
MECH_BATCH_KIND = MECH_SPLIT

# ------------------------------------------------------------------------------- samples
CATALOGUE = "samples.parquet"  # every sample of every history, one row each


def trajectory_table(trajectory):
    """One history's samples (its rows of the catalogue)."""
    return f"samples/{trajectory}.parquet"


def trajectory_structures(trajectory):
    """The folder of one history's inherent structures (:func:`structure_file` each)."""
    return f"samples/{trajectory}"


def structure_file(sample_id):
    """An inherent structure's file name in its history's folder (extended XYZ)."""
    return f"{sample_id}.extxyz"


# ------------------------------------------------------------------- SOAP and ULE encoding
def soap_folder(batch):
    """The stored SOAP of a batch (soap.store true), one :func:`soap_file` per sample."""
    return f"soap/{batch}"


SOAP_FILE_SUFFIX = ".parquet"


def soap_file(sample_id):
    """A sample's SOAP file name in its batch's folder: its sample id, then :data:`SOAP_FILE_SUFFIX`."""
    return f"{sample_id}{SOAP_FILE_SUFFIX}"


THRESHOLD_CALIBRATION = "ules/threshold_calibration.parquet"
THRESHOLD = "ules/threshold.json"
DICTIONARY = "ules/dictionary.parquet"
ULE_ENERGIES = "ules/energies.parquet"


# The tables of a batch's encoding: its samples' ULE fractions, their nearest-ULE counts, and
# the ULE of every atom.
BATCH_ENCODING_TABLES = ("fractions", "counts", "atoms")


def batch_encoding(batch, table):
    """Table ``table`` (one of :data:`BATCH_ENCODING_TABLES`) of a batch's encoding."""
    if table not in BATCH_ENCODING_TABLES:
        raise ValueError(f"no encoding table {table!r}: one of {BATCH_ENCODING_TABLES}")
    return f"encoding/{batch}/{table}.parquet"


FRACTIONS = "encoding/fractions.parquet"
COUNTS = "encoding/counts.parquet"
MEAN_SOAP = "encoding/mean_soap.parquet"

# ---------------------------------------------------------------------------- models
# The feature tables the energy models learn from, by name (the ``features`` wildcard).
BARCODES = "barcode/barcodes.parquet"
FEATURE_TABLES = {"fractions": FRACTIONS, "barcode": BARCODES}


# The files of the XGBoost energy model on one feature table: the booster (XGBoost JSON), its
# hyper-parameter trials, its fit summary (best parameters, CV RMSE, rounds), and its Optuna
# journal (kept by a killed job, not a declared output).
MODEL_FILES = {"model": "{features}_model.json", "trials": "{features}_trials.parquet",
               "fit": "{features}_fit.json", "journal": "optuna/{features}.journal"}


def model_output(features, kind):
    """File ``kind`` (a key of :data:`MODEL_FILES`) of the energy model on feature table ``features``."""
    if kind not in MODEL_FILES:
        raise ValueError(f"no model file {kind!r}: one of {sorted(MODEL_FILES)}")
    return "model/" + MODEL_FILES[kind].format(features=features)


SHAP_RANKING = "model/shap_ranking.parquet"
SHAP_LONG_TAIL = "model/shap_long_tail.json"
METRICS = "model/metrics.json"
PREDICTIONS = "model/predictions.parquet"
LEARNING_CURVE = "model/learning_curve.parquet"

# ---------------------------------------------------------------------------- barcodes
KERNELS = "barcode/kernels.parquet"
TOP_ULES = "barcode/top_ules.parquet"
BARCODE_SUMMARY = "barcode/summary.json"

# ---------------------------------------------------------------------- heterogeneity
HETEROGENEITY_SUMMARY = "heterogeneity/summary.parquet"
HETEROGENEITY_PAIRS = "heterogeneity/pairs.parquet"
HETEROGENEITY_CORRELATION = "heterogeneity/correlation.json"
HETEROGENEITY_WINDOWS = "heterogeneity/windows.parquet"


# ----------------------------------------------------------------------------- figures
def figure(name, suffix="png"):
    """A figure of the run (each is written as PNG and SVG)."""
    return f"figures/{name}.{suffix}"


# ------------------------------------------------------------------- logs and benchmarks
LOGS = "logs"
BENCHMARKS = "benchmarks"


def log_file(rule, job=None, kind="log"):
    """The log of a job of ``rule``: ``logs/<rule>.log`` for a rule with one job, else
    ``logs/<rule>/<job>.log``; ``kind="lammps.log"`` for the LAMMPS log beside it."""
    return f"{LOGS}/{rule}.{kind}" if job is None else f"{LOGS}/{rule}/{job}.{kind}"


def benchmark_file(rule, job=None):
    """Snakemake's benchmark of a job of ``rule`` (laid out as :func:`log_file`)."""
    return f"{BENCHMARKS}/{rule}.tsv" if job is None else f"{BENCHMARKS}/{rule}/{job}.tsv"
