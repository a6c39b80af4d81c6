"""ecodata.transform."""
