"""Reference data for the generator: countries, currencies, VAT, price levels, cities, street words.

Numbers follow ``market-realism.md`` sections 1-5 (country weights, VAT, ad hoc medians per power
class incl. VAT in local currency, AC share of EVSEs, MSP density group). Countries without a
sourced price are labelled estimates there and here. Coordinates are real city centres.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Country:
    """One market: identity, money, price level and the places where sites are generated."""

    code2: str
    code3: str
    currency: str
    vat: float  # percent, e.g. 19 or 8.1
    weight: float  # share of points in percent (Charge Point Monitor based)
    time_zone: str
    adhoc_ac: float  # ad hoc median incl. VAT per kWh, local currency
    adhoc_dc: float
    adhoc_hpc: float
    ac_share: float  # share of EVSEs that are AC
    msp_group: str  # "core", "nordic" or "south": sets the mean number of MSP prices per connector
    fx_per_eur: float  # local currency units per EUR (sanity checks only)
    cities: tuple[tuple[str, str, float, float], ...]  # (city, state/province, lat, lon)
    streets: tuple[str, ...]
    street_number_first: bool = False

    @property
    def vat_json(self) -> int | float:
        """VAT as the API prints it: an integer when whole (19), else a decimal (8.1)."""
        return int(self.vat) if float(self.vat).is_integer() else self.vat


_DE_STREETS = ("Hauptstraße", "Bahnhofstraße", "Industriestraße", "Am Markt", "Schillerstraße", "Lindenweg",
               "Gartenstraße", "Rathausplatz", "Ringstraße", "Kirchweg")
_NL_STREETS = ("Stationsweg", "Kerkstraat", "Dorpsstraat", "Molenweg", "Parallelweg", "Marktplein",
               "Julianalaan", "Havenstraat")
_FR_STREETS = ("Rue de la République", "Avenue Jean Jaurès", "Place de la Gare", "Rue Victor Hugo",
               "Boulevard Pasteur", "Rue du Commerce")
_EN_STREETS = ("High Street", "Station Road", "Church Lane", "Park Road", "Victoria Road", "Mill Lane",
               "Retail Park")
_IT_STREETS = ("Via Roma", "Corso Italia", "Via Garibaldi", "Piazza della Stazione", "Via Milano")
_ES_STREETS = ("Calle Mayor", "Avenida de la Constitución", "Calle Real", "Plaza de España")
_NORDIC_STREETS = ("Storgata", "Kongens gate", "Industrivej", "Stationsvej", "Storgatan", "Hamnvägen")
_PL_STREETS = ("ulica Główna", "ulica Dworcowa", "aleja Jana Pawła II", "ulica Kościuszki")
_GENERIC = ("Main Street", "Central Avenue", "Station Square", "Industrial Road")

COUNTRIES: tuple[Country, ...] = (
    Country("DE", "DEU", "EUR", 19, 17, "Europe/Berlin", 0.55, 0.66, 0.69, 0.75, "core", 1.0,
            (("Berlin", "Berlin", 52.5200, 13.4050), ("München", "Bayern", 48.1351, 11.5820),
             ("Hamburg", "Hamburg", 53.5511, 9.9937), ("Köln", "Nordrhein-Westfalen", 50.9375, 6.9603),
             ("Stuttgart", "Baden-Württemberg", 48.7758, 9.1829), ("Leipzig", "Sachsen", 51.3397, 12.3731)),
            _DE_STREETS),
    Country("NL", "NLD", "EUR", 21, 17, "Europe/Amsterdam", 0.48, 0.64, 0.69, 0.95, "core", 1.0,
            (("Amsterdam", "Noord-Holland", 52.3676, 4.9041), ("Rotterdam", "Zuid-Holland", 51.9244, 4.4777),
             ("Utrecht", "Utrecht", 52.0907, 5.1214), ("Eindhoven", "Noord-Brabant", 51.4416, 5.4697),
             ("Groningen", "Groningen", 53.2194, 6.5665)),
            _NL_STREETS),
    Country("FR", "FRA", "EUR", 20, 15, "Europe/Paris", 0.37, 0.45, 0.55, 0.80, "core", 1.0,
            (("Paris", "Île-de-France", 48.8566, 2.3522), ("Lyon", "Auvergne-Rhône-Alpes", 45.7640, 4.8357),
             ("Marseille", "Provence-Alpes-Côte d'Azur", 43.2965, 5.3698),
             ("Toulouse", "Occitanie", 43.6047, 1.4442), ("Lille", "Hauts-de-France", 50.6292, 3.0573)),
            _FR_STREETS, street_number_first=True),
    Country("GB", "GBR", "GBP", 20, 10, "Europe/London", 0.57, 0.80, 0.79, 0.80, "nordic", 0.85,
            (("London", "England", 51.5072, -0.1276), ("Manchester", "England", 53.4808, -2.2426),
             ("Birmingham", "England", 52.4862, -1.8904), ("Glasgow", "Scotland", 55.8642, -4.2518),
             ("Cardiff", "Wales", 51.4816, -3.1791)),
            _EN_STREETS, street_number_first=True),
    Country("BE", "BEL", "EUR", 21, 9, "Europe/Brussels", 0.47, 0.65, 0.69, 0.85, "core", 1.0,
            (("Brussel", "Brussels Hoofdstedelijk Gewest", 50.8503, 4.3517), ("Antwerpen", "Vlaanderen", 51.2194, 4.4025),
             ("Gent", "Vlaanderen", 51.0543, 3.7174), ("Liège", "Wallonie", 50.6326, 5.5797)),
            _NL_STREETS),
    Country("IT", "ITA", "EUR", 22, 6, "Europe/Rome", 0.63, 0.73, 0.76, 0.77, "south", 1.0,
            (("Roma", "Lazio", 41.9028, 12.4964), ("Milano", "Lombardia", 45.4642, 9.1900),
             ("Torino", "Piemonte", 45.0703, 7.6869), ("Bologna", "Emilia-Romagna", 44.4949, 11.3426)),
            _IT_STREETS),
    Country("SE", "SWE", "SEK", 25, 5, "Europe/Stockholm", 4.2, 6.0, 7.5, 0.75, "nordic", 11.2,
            (("Stockholm", "Stockholms län", 59.3293, 18.0686), ("Göteborg", "Västra Götalands län", 57.7089, 11.9746),
             ("Malmö", "Skåne län", 55.6050, 13.0038)),
            _NORDIC_STREETS),
    Country("ES", "ESP", "EUR", 21, 4.5, "Europe/Madrid", 0.35, 0.47, 0.54, 0.80, "south", 1.0,
            (("Madrid", "Comunidad de Madrid", 40.4168, -3.7038), ("Barcelona", "Cataluña", 41.3874, 2.1686),
             ("Valencia", "Comunitat Valenciana", 39.4699, -0.3763), ("Sevilla", "Andalucía", 37.3891, -5.9845)),
            _ES_STREETS),
    Country("DK", "DNK", "DKK", 25, 3.5, "Europe/Copenhagen", 3.7, 5.2, 5.5, 0.80, "nordic", 7.46,
            (("København", "Region Hovedstaden", 55.6761, 12.5683), ("Aarhus", "Region Midtjylland", 56.1629, 10.2039),
             ("Odense", "Region Syddanmark", 55.4038, 10.4024)),
            _NORDIC_STREETS),
    Country("NO", "NOR", "NOK", 25, 3.5, "Europe/Oslo", 4.2, 7.9, 6.5, 0.60, "nordic", 11.6,
            (("Oslo", "Oslo", 59.9139, 10.7522), ("Bergen", "Vestland", 60.3913, 5.3221),
             ("Trondheim", "Trøndelag", 63.4305, 10.3951), ("Stavanger", "Rogaland", 58.9700, 5.7331)),
            _NORDIC_STREETS),
    Country("AT", "AUT", "EUR", 20, 3, "Europe/Vienna", 0.55, 0.67, 0.70, 0.78, "core", 1.0,
            (("Wien", "Wien", 48.2082, 16.3738), ("Graz", "Steiermark", 47.0707, 15.4395),
             ("Linz", "Oberösterreich", 48.3069, 14.2858), ("Salzburg", "Salzburg", 47.8095, 13.0550)),
            _DE_STREETS),
    Country("CH", "CHE", "CHF", 8.1, 1.5, "Europe/Zurich", 0.52, 0.68, 0.69, 0.80, "core", 0.94,
            (("Zürich", "Zürich", 47.3769, 8.5417), ("Genève", "Genève", 46.2044, 6.1432),
             ("Basel", "Basel-Stadt", 47.5596, 7.5886), ("Bern", "Bern", 46.9480, 7.4474)),
            _DE_STREETS),
    Country("PL", "POL", "PLN", 23, 1, "Europe/Warsaw", 1.78, 2.48, 3.15, 0.78, "south", 4.27,
            (("Warszawa", "mazowieckie", 52.2297, 21.0122), ("Kraków", "małopolskie", 50.0647, 19.9450),
             ("Wrocław", "dolnośląskie", 51.1079, 17.0385), ("Gdańsk", "pomorskie", 54.3520, 18.6466)),
            _PL_STREETS),
    # "other 4 %" of market-realism section 5, only at europe scale; price levels are estimates (EST).
    Country("PT", "PRT", "EUR", 23, 0.8, "Europe/Lisbon", 0.40, 0.55, 0.60, 0.62, "south", 1.0,
            (("Lisboa", "Lisboa", 38.7223, -9.1393), ("Porto", "Porto", 41.1579, -8.6291)), _ES_STREETS),
    Country("IE", "IRL", "EUR", 23, 0.4, "Europe/Dublin", 0.55, 0.70, 0.72, 0.80, "nordic", 1.0,
            (("Dublin", "Leinster", 53.3498, -6.2603), ("Cork", "Munster", 51.8985, -8.4756)), _EN_STREETS, True),
    Country("FI", "FIN", "EUR", 25.5, 0.6, "Europe/Helsinki", 0.40, 0.50, 0.55, 0.75, "nordic", 1.0,
            (("Helsinki", "Uusimaa", 60.1699, 24.9384), ("Tampere", "Pirkanmaa", 61.4978, 23.7610)), _NORDIC_STREETS),
    Country("CZ", "CZE", "CZK", 21, 0.4, "Europe/Prague", 12.0, 14.0, 15.0, 0.70, "south", 25.0,
            (("Praha", "Hlavní město Praha", 50.0755, 14.4378), ("Brno", "Jihomoravský kraj", 49.1951, 16.6068)),
            _GENERIC),
    Country("HU", "HUN", "HUF", 27, 0.3, "Europe/Budapest", 190.0, 240.0, 260.0, 0.75, "south", 400.0,
            (("Budapest", "Budapest", 47.4979, 19.0402),), _GENERIC),
    Country("RO", "ROU", "RON", 21, 0.3, "Europe/Bucharest", 2.0, 2.6, 2.9, 0.70, "south", 5.0,
            (("București", "București", 44.4268, 26.1025), ("Cluj-Napoca", "Cluj", 46.7712, 23.6236)), _GENERIC),
    Country("GR", "GRC", "EUR", 24, 0.2, "Europe/Athens", 0.45, 0.55, 0.60, 0.75, "south", 1.0,
            (("Athína", "Attica", 37.9838, 23.7275),), _GENERIC),
    Country("SK", "SVK", "EUR", 23, 0.15, "Europe/Bratislava", 0.45, 0.55, 0.60, 0.72, "south", 1.0,
            (("Bratislava", "Bratislavský kraj", 48.1486, 17.1077),), _GENERIC),
    Country("SI", "SVN", "EUR", 22, 0.15, "Europe/Ljubljana", 0.40, 0.52, 0.58, 0.75, "south", 1.0,
            (("Ljubljana", "Osrednjeslovenska", 46.0569, 14.5058),), _GENERIC),
    Country("HR", "HRV", "EUR", 25, 0.15, "Europe/Zagreb", 0.40, 0.50, 0.56, 0.72, "south", 1.0,
            (("Zagreb", "Grad Zagreb", 45.8150, 15.9819),), _GENERIC),
    Country("LU", "LUX", "EUR", 17, 0.25, "Europe/Luxembourg", 0.40, 0.60, 0.65, 0.85, "core", 1.0,
            (("Luxembourg", "Luxembourg", 49.6116, 6.1319),), _GENERIC),
    Country("BG", "BGR", "BGN", 20, 0.1, "Europe/Sofia", 0.90, 1.10, 1.20, 0.70, "south", 1.96,
            (("Sofia", "Sofia City", 42.6977, 23.3219),), _GENERIC),
    Country("LT", "LTU", "EUR", 21, 0.1, "Europe/Vilnius", 0.40, 0.50, 0.55, 0.70, "south", 1.0,
            (("Vilnius", "Vilniaus apskritis", 54.6872, 25.2797),), _GENERIC),
    Country("LV", "LVA", "EUR", 21, 0.05, "Europe/Riga", 0.40, 0.50, 0.55, 0.70, "south", 1.0,
            (("Rīga", "Rīga", 56.9496, 24.1052),), _GENERIC),
    Country("EE", "EST", "EUR", 24, 0.05, "Europe/Tallinn", 0.40, 0.50, 0.55, 0.70, "south", 1.0,
            (("Tallinn", "Harju maakond", 59.4370, 24.7536),), _GENERIC),
    Country("IS", "ISL", "ISK", 24, 0.05, "Atlantic/Reykjavik", 45.0, 60.0, 70.0, 0.70, "nordic", 150.0,
            (("Reykjavík", "Höfuðborgarsvæðið", 64.1466, -21.9426),), _NORDIC_STREETS),
)

BY_CODE: dict[str, Country] = {c.code2: c for c in COUNTRIES}

# Mean number of MSP prices per connector (market-realism section 5: negative binomial means).
MSP_MEAN_BY_GROUP: dict[str, float] = {"core": 14.0, "nordic": 8.0, "south": 5.0}

WORDS_A = ("Volt", "Strom", "Green", "Blue", "Nord", "Sun", "Alpen", "City", "Euro", "Rapid", "Power", "Watt",
           "Urban", "Park", "Motor", "Lade", "Charge", "Energi", "Ampere", "Flux", "Spark", "River", "Coast",
           "Metro", "Grid", "Eco", "Terra", "Nova", "Polar", "Delta")
WORDS_B = ("point", "net", "way", "go", "hub", "line", "plus", "stream", "port", "lane", "flow", "wave",
           "cell", "link", "spot")
CPO_SUFFIX = ("Charging", "Energy", "Mobility", "E-Mobility", "Laden", "Recharge", "Power", "Stadtwerke")
MSP_SUFFIX = ("Charge Card", "Mobility", "EV Pass", "Roaming", "App", "Drive")
