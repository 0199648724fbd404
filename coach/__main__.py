import sys

try:
    from coach.cli import main

    code = main()
except KeyboardInterrupt:  # Ctrl-C while the coach is still loading: no traceback
    print("coach: stopped.", file=sys.stderr)
    code = 130
raise SystemExit(code)
