"""The publisher: own + peer total share -> counts -> labelled result in processed/."""
