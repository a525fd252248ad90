"""`python -m bridge.schemas`: regenerate the shipped JSON Schemas from the models."""

from bridge.schemas import write

write()
