"""``python -m jepa_world``: the ``jepa`` command, for an environment whose scripts are not on PATH."""

from jepa_world.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
