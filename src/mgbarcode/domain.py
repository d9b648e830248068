"""The training domain: the ranges of a run's ``train`` samples within which its models may be
believed, and the check of one structure against them.

A model of ULE fractions has seen only what the training glasses contain.  A structure whose
atoms mostly fall below the similarity threshold to every ULE, whose atoms rarely sit at the
barcode's ULEs, whose density or composition differs, or whose predicted energy lies outside
the energies the model was fitted to, is outside what the models know: its prediction is an
extrapolation and is reported as such, never as a confident energy.  Each bound is the range
the (distinct) ``train`` samples span, widened by a margin from config ``domain``.
Units: Å⁻³, eV/atom, atom fractions, shares of atoms.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TrainingDomain:
    """Lower/upper bounds of the training samples, margins included."""

    min_matched_share: float       # atoms within the threshold of some ULE / all atoms
    min_top_share: float           # atoms whose nearest ULE is a barcode ULE / all atoms
    density_per_A3: tuple          # (low, high)
    energy_eV_per_atom: tuple      # (low, high)
    composition: dict              # element -> atom fraction of the training samples
    composition_tolerance: float   # largest allowed difference in any element's fraction

    @classmethod
    def from_training(cls, matched_share, top_share, density_per_A3, energy_eV_per_atom, composition, margins):
        """Bounds from per-sample arrays of the ``train`` samples and the ``domain`` config."""
        density = np.asarray(density_per_A3, dtype=float)
        energy = np.asarray(energy_eV_per_atom, dtype=float)
        relative = margins["density_relative_margin"]
        return cls(
            min_matched_share=float(np.min(matched_share)) - margins["matched_share_margin"],
            min_top_share=float(np.min(top_share)) - margins["top_share_margin"],
            density_per_A3=(float(density.min()) * (1 - relative), float(density.max()) * (1 + relative)),
            energy_eV_per_atom=(float(energy.min()) - margins["energy_margin_eV_per_atom"],
                                float(energy.max()) + margins["energy_margin_eV_per_atom"]),
            composition=dict(composition), composition_tolerance=margins["composition_tolerance"])

    def violations(self, matched_share, top_share, density_per_A3, energy_eV_per_atom, composition):
        """The bounds one structure breaks, each as a sentence naming the value and the bound
        (empty when it lies inside the domain)."""
        broken = []
        if matched_share < self.min_matched_share:
            broken.append(f"matched-atom share {matched_share:.3f} below the training minimum "
                          f"{self.min_matched_share:.3f}")
        if top_share < self.min_top_share:
            broken.append(f"share of atoms at barcode ULEs {top_share:.3f} below the training minimum "
                          f"{self.min_top_share:.3f}")
        low, high = self.density_per_A3
        if not low <= density_per_A3 <= high:
            broken.append(f"number density {density_per_A3:.5f} /Å^3 outside the training range "
                          f"[{low:.5f}, {high:.5f}]")
        low, high = self.energy_eV_per_atom
        if not low <= energy_eV_per_atom <= high:
            broken.append(f"IS energy {energy_eV_per_atom:.4f} eV/atom outside the training range "
                          f"[{low:.4f}, {high:.4f}]")
        elements = sorted(set(self.composition) | set(composition))
        differences = {e: abs(composition.get(e, 0.0) - self.composition.get(e, 0.0)) for e in elements}
        worst = max(differences, key=differences.get)
        if differences[worst] > self.composition_tolerance:
            broken.append(f"composition differs from the training glasses' by {differences[worst]:.3f} in the "
                          f"fraction of {worst} (tolerance {self.composition_tolerance})")
        return broken


def atom_fractions(symbols):
    """Element -> atom fraction of a list of chemical symbols."""
    elements, counts = np.unique(np.asarray(symbols), return_counts=True)
    return {str(e): float(c) / len(symbols) for e, c in zip(elements, counts)}
