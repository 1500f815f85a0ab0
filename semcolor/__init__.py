"""semcolor: automatic image colorization with semantic guidance.

``import semcolor`` stays light: it imports neither Lightning nor Hydra. Heavy
sub-packages (``semcolor.models``, ``semcolor.lit``, ``semcolor.data``) are imported on use.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
