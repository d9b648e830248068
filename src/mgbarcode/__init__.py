"""mgbarcode: interpretable ULE barcodes of metallic glasses.

Implements Liu, Wang et al., Acta Materialia 259 (2023) 119281: LAMMPS inherent
structures -> SOAP -> unique local environments (ULEs) -> ULE fractions -> XGBoost +
SHAP -> K-dimensional barcode -> Voronoi kernel analysis and heterogeneity.
Units follow LAMMPS ``metal``: Å, eV, ps, K, bar.
"""

__version__ = "0.1.0"
