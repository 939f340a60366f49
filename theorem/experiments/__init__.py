"""The heavy sweeps whose results are committed, each a module with QUICK and FULL settings.

An experiment module defines:

* ``NAME``: the record's name (``theorem/data/records/NAME.json``);
* ``DESCRIPTION``: one line;
* ``QUICK`` and ``FULL``: the settings (a dict of JSON values) of the two profiles;
* ``run(settings, log) -> dict``: computes the record's payload (``log`` takes one-line progress).

``python -m theorem.experiments NAME [--profile quick|medium|full]`` (or ``d2check experiment NAME ...``, the
same command line) runs one and writes its record with provenance (:mod:`theorem.experiments.records`); ``make data`` runs all of
them with the FULL settings.  Notebooks and the ledger only *load* records.
"""

from theorem.experiments.records import load_record, record_path, write_record
from theorem.experiments.registry import EXPERIMENTS, experiment_module

__all__ = ["EXPERIMENTS", "experiment_module", "load_record", "record_path", "write_record"]
