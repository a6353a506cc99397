"""What exists and what is stale: sources, input hashes, the manifest, output paths and plans.

Nothing here renders, runs Graphviz or imports Jinja2.
"""
