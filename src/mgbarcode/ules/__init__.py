"""Unique local environments (ULEs): the dictionary of a glass's distinct atomic
environments, and each sample's atoms counted by their nearest ULE (METHOD §2).

One module per stage of the method:

- :mod:`~mgbarcode.ules.exact_bounds`: the similarity, the match rule, and the floating-point
  bounds that let every decision be made exactly from rounded dot products;
- :mod:`~mgbarcode.ules.leader_dictionary`: the dictionary by leader clustering (batched,
  streamed, equal to the one-at-a-time rule), and its Parquet file;
- :mod:`~mgbarcode.ules.threshold_calibration`: the ULE count against threshold and the
  threshold chosen from it;
- :mod:`~mgbarcode.ules.encoding`: each environment's nearest ULE and the per-sample fraction,
  count and per-atom tables.

Callers import the module they use (``from mgbarcode.ules import encoding``).
"""
