"""ecodata.sql."""
