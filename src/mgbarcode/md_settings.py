"""The MD settings every protocol shares: timestep, ensemble, thermostat and barostat, the
random start, minimisation to inherent structures, and which LAMMPS runs them (the ``md``
config section).

Units: Å, ps, K, bar (LAMMPS ``metal``).
"""

import logging
from dataclasses import dataclass

from . import lammps_engine, md

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MDSettings:
    """Integration, ensemble and minimisation settings shared by every protocol."""

    timestep_ps: float
    ensemble: str  # "nvt" (fixed number density) or "npt" (pressure_bar)
    number_density_per_A3: float
    pressure_bar: float
    thermostat_damp_ps: float
    barostat_damp_ps: float
    initial_min_distance_A: float
    neighbor_skin_A: float
    minimize: dict
    repeats: dict  # energy_tol_eV_per_atom, position_tol_A: when two IS are one basin (basins)
    engine: str = lammps_engine.PYTHON_MODULE  # where LAMMPS runs (mgbarcode.lammps_engine)

    @classmethod
    def from_config(cls, md_config):
        return cls(**md_config)

    def steps(self, time_ps):
        """Number of MD steps covering ``time_ps`` (at least one)."""
        return max(1, int(round(time_ps / self.timestep_ps)))

    def inherent_structure_commands(self, triclinic=False):
        """LAMMPS commands from the current configuration to its IS (``md.minimize``; a relaxed
        cell goes to ``pressure_bar``)."""
        return md.inherent_structure_commands(self.minimize, self.pressure_bar, triclinic)

    def pressure_warning(self, sample_id, pressure_GPa):
        """Log a warning when a cell-relaxed IS missed its target pressure."""
        message = md.unconverged_pressure(pressure_GPa, self.minimize, self.pressure_bar)
        if message:
            log.warning("%s: %s", sample_id, message)

    def thermostat_fix(self, t_start_K, t_stop_K, fix_id="integrate"):
        """The LAMMPS command of the integrator: Nosé-Hoover NVT or NPT (isotropic)."""
        tdamp = self.thermostat_damp_ps
        if self.ensemble == "npt":
            p, pdamp = self.pressure_bar, self.barostat_damp_ps
            return f"fix {fix_id} all npt temp {t_start_K} {t_stop_K} {tdamp} iso {p} {p} {pdamp}"
        return f"fix {fix_id} all nvt temp {t_start_K} {t_stop_K} {tdamp}"


def md_settings(config):
    """The :class:`MDSettings` of a validated config."""
    return MDSettings.from_config(config["md"])


def history_job_settings(md_params, config):
    """The :class:`MDSettings` of a history job and the engine that runs it: the job's ``md``
    params (its rule leaves ``md.engine`` out, so that changing it re-runs nothing: like the
    thread count it changes only the order of the force sums) with the run ``config``'s
    ``md.engine``."""
    settings = MDSettings.from_config({**md_params, "engine": config["md"].get("engine", lammps_engine.PYTHON_MODULE)})
    return settings, lammps_engine.for_setting(settings.engine)
