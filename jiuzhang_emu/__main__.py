"""``python -m jiuzhang_emu``: the ``jiuzhang-emu`` command."""
import sys

from jiuzhang_emu.cli import main

sys.exit(main())
