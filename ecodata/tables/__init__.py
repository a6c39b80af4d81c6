"""ecodata.tables."""
