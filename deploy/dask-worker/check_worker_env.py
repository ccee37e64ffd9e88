"""Fails the image build unless this Python can import FreeCAD, this package's check and Dask's worker.

Run by the Dockerfile after the install; also usable on any machine meant to
be a worker: ``python deploy/dask-worker/check_worker_env.py``.
"""

import sys

from freecad_spatial.spatial_tools import freecad_env
from freecad_spatial.spatial_tools.check import dask_runner  # noqa: F401 - the task's module

try:
    import distributed
except ImportError:
    sys.exit("distributed is not installed: pip install 'freecad-spatial[dask]'")

app = freecad_env.load()
import Part  # noqa: E402,F401 - FreeCAD's kernel, which the checks use

print(f"FreeCAD {'.'.join(app.Version()[:3])}, distributed {distributed.__version__}: this Python can run check tasks")
