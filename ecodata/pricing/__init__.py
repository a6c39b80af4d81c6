"""ecodata.pricing."""
