"""The report package. Until repro/report.py moves in here, its contents are exposed under this name
(a package shadows the module of the same name), so `from repro.report import build_report` keeps working."""

import importlib.util as _util
import sys as _sys
from pathlib import Path as _Path

_spec = _util.spec_from_file_location("repro._report_module", _Path(__file__).resolve().parent.parent / "report.py")
_module = _util.module_from_spec(_spec)
_sys.modules[_spec.name] = _module
_spec.loader.exec_module(_module)
globals().update({name: value for name, value in vars(_module).items() if not name.startswith("__")})
