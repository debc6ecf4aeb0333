"""``python -m tokenaudit``."""

from .cli import main

main()
