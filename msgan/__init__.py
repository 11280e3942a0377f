"""msgan: predict a missing image (FLAIR, [11C]PIB PET) of MS patients from the MRI at hand.

The method is Wei's thesis (ch. 2: 3D FCN; ch. 3: Sketcher-Refiner GANs; ch. 4: CF-SAGAN).
Importing the package is cheap: TensorFlow is imported only by the modules that need it.
"""
from msgan._version import __version__

__all__ = ["__version__"]
