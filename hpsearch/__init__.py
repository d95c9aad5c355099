"""hpsearch: find the best way to finetune small BERT models.

Data flows one way: study file → validated spec (`hpsearch.spec`) → Optuna objective
(`hpsearch.objective`) → trainer (`hpsearch.trainer`) → metrics → storage → reports.
"""

from hpsearch.errors import HpsearchError, SpecError

__all__ = ["HpsearchError", "SpecError"]
__version__ = "0.1.0"
