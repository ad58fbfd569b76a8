"""Install flatmob_mn and its ``flatmob`` command."""

from setuptools import find_packages, setup

setup(
    name="flatmob_mn",
    version="0.1.0",
    description="Emulate a flat wireless ISP with host-route mobility "
    "on real FRR routers in Mininet",
    packages=find_packages(include=["flatmob_mn", "flatmob_mn.*"]),
    package_data={"flatmob_mn": ["*/templates/*.j2", "topologies/*.toml"]},
    python_requires=">=3.11",
    install_requires=[
        "cryptography>=50",
        "dnspython>=2.9",
        "pyroute2>=0.9",
        "jinja2>=3.1",
        "matplotlib>=3.8",
        "tqdm>=4.66",
    ],
    entry_points={"console_scripts": ["flatmob = flatmob_mn.cli:main"]},
)
