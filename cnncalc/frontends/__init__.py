"""Front ends: everything that produces a NetworkSpec from something other than a YAML file.

Each front end writes a cnncalc document (the YAML file's data, see
:mod:`.write_yaml`) and the one loader expands it, so a model from torch or
ONNX becomes exactly the NetworkSpec its written file gives: what is analysed
is what ``cnncalc import`` writes.
"""

from .source import is_model_source, load_source, resolve_source

__all__ = ["is_model_source", "load_source", "resolve_source"]
