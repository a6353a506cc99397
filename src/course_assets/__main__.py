"""Run the command line as `python -m course_assets`."""

from course_assets.cli import main

main()
