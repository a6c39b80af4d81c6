"""ecodata.fetch."""
