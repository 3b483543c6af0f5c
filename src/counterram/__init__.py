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

__version__ = "0.1.0"
