"""Building blocks of the simulated MS cohort (the public entry point is :mod:`data_tools.simulation.cohort`, ``msgan simulate``).

One concept per module:

- :mod:`.fields`: smooth random fields (deformations, bias, texture) built on a coarse grid
  and upsampled separably, so 1 mm volumes stay cheap;
- :mod:`.anatomy`: MNI152 2009 tissue maps shipped with nilearn, warped per subject;
- :mod:`.lesions`: white-matter lesions with a myelin-loss map, and their evolution
  between visits;
- :mod:`.tissue`: 3 T tissue properties (relaxation times, MTR, diffusivities, PIB DVR),
  each value cited where it is defined;
- :mod:`.mri`: the MR signal equations, Rician noise and bias field;
- :mod:`.randomize`: domain-randomised input images (intensities, bias, slice thickness,
  noise drawn per session), the FLAIR target kept physical;
- :mod:`.myelin_imaging`: MTR, DTI (AD, RD, FA) and [11C]PIB DVR maps from myelin content;
- :mod:`.clinical`: the participants table (age, sex, EDSS, myelin dynamics).
"""
