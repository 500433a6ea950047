"""Open311 GeoReport v2 under `/open311/v2`: the international standard through which resident apps and city
systems (FixMyStreet, SeeClickFix, …) discover the services, file requests with an integration's API key and
follow them, plus FixMyStreet's `servicerequestupdates` extension. Requests go through the normal intake."""
