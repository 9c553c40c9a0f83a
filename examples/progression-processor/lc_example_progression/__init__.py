"""An example outline processor for lc-runtime: ``in_order``, subsections opened one after another."""
