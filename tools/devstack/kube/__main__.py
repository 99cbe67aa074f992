"""``python -m tools.devstack.kube``: the control plane's command line (see cli.py)."""

import sys

from tools.devstack.kube.cli import main

sys.exit(main())
