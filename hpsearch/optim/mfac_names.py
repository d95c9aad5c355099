"""The names M-FAC's string options take, without torch.

The registry lists them as the options' choices, so a study file that gives another name
fails when it is loaded; :mod:`hpsearch.optim.mfac` checks the same tuples when it is built.
"""

from __future__ import annotations

__all__ = ["BUFFER_DTYPES", "LAYOUTS", "WEIGHT_DECAY_MODES"]

# Storage types of the gradient buffer G, torch's dtype names. float64 is there for exact
# checks (tests), not for training: it doubles the bytes of float32.
BUFFER_DTYPES = ("float32", "bfloat16", "float64")

# Layouts of the buffer: "auto" stores the parameters named in `row_sparse` row-sparse when
# that is smaller; "dense" stores every gradient whole.
LAYOUTS = ("auto", "dense")

# How weight decay acts: "decoupled" shrinks θ after the preconditioned step (AdamW-style,
# the default); "coupled" adds wd·θ to the gradient before it is stored and preconditioned,
# as the authors' reference implementation does.
WEIGHT_DECAY_MODES = ("decoupled", "coupled")
