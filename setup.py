"""Map the top-level folders into the one import name ``anodefree``.

``structures/`` installs as ``anodefree.structures``, ``workflows/`` as
``anodefree.workflows`` and so on, so that no top-level module called
``workflows`` or ``analysis`` is installed beside other distributions.
"""

from setuptools import find_packages, setup

SUBPACKAGES = ("structures", "workflows", "analysis", "models")

package_dir = {"anodefree": "anodefree"}
packages = ["anodefree", *(f"anodefree.{sub}" for sub in find_packages("anodefree"))]
for top in SUBPACKAGES:
    package_dir[f"anodefree.{top}"] = top
    packages.append(f"anodefree.{top}")
    packages += [f"anodefree.{top}.{sub}" for sub in find_packages(top)]

setup(package_dir=package_dir, packages=packages)
