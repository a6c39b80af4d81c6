"""ecodata.snapshot."""
