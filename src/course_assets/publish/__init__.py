"""Text made from built bytes: chapters, the figure gallery and the slide decks."""
