"""counterram: the counter-rocket, artillery and mortar (C-RAM) kill chain in simulation.

Simulation and decision support only; it drives no real weapon.

Conventions used everywhere inside the package:

* SI units (metres, seconds, kilograms, radians); degrees and mils only at the edges.
* A local East-North-Up (ENU) frame centred on the scenario origin: ``z`` is height above the
  origin's altitude. A state of N objects is an array of shape (N, 6): east, north, up, and the
  three velocity components.
* Azimuth is a compass bearing: clockwise from north, ``atan2(east, north)``; elevation is the
  angle above the local horizontal.
"""

import os as _os

__version__ = "0.1.0"

# numba's threaded integrator runs on OpenMP, whose threads by default spin after each parallel
# region. On a machine with other work (a second engine, a campaign, the operator's own tools)
# the spinning thread takes the core the engine's next stage needs: a 100-rocket step measured
# 62 / 93 ms (p50 / p99) spinning against 17 / 23 ms passive, with one core busy elsewhere
# (docs/performance.md). Passive waiting costs a wake-up per region; set OMP_WAIT_POLICY
# yourself to choose otherwise (it is read once, when numba first loads OpenMP).
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
