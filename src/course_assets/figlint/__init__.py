"""Read each laid-out figure and report what a reader would struggle with, and outline it.

`reader` reads a figure as it is rendered; `report` turns what the manifest recorded into
problems (what `build` and `check` load, without the reader).
"""
