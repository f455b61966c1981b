"""The step kinds, one module each; :mod:`flows.sop.kinds.catalog` lists and installs them."""
