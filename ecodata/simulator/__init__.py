"""ecodata.simulator."""
